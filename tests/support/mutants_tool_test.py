"""scripts/mutants.py on a project of two functions: a mutant the test catches is killed, a
survivor is named and fails the check, an equivalent one is reported but not counted, and the
source tree is never touched (the mutants live in the scratch copy). Also: --check refuses a list
whose snippet is not in the tree. Run by ctest (mutants.tool_kills_and_reports)."""
import subprocess
import sys
import tempfile
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "scripts" / "mutants.py"

FILES = {
    "CMakeLists.txt": """cmake_minimum_required(VERSION 3.20)
project(fake CXX)
enable_testing()
add_executable(check_add check_add.cpp add.cpp)
add_test(NAME add.sums COMMAND check_add)
set_tests_properties(add.sums PROPERTIES LABELS unit)
""",
    "add.cpp": "int add(int a, int b) { return a + b; }\nint unused() { return 1; }\n",
    "check_add.cpp": "int add(int, int);\nint main() { return add(2, 3) == 5 ? 0 : 1; }\n",
    "tests/mutants.toml": """
[[mutant]]
id = "add-times"
concept = "add adds"
file = "add.cpp"
find = "return a + b;"
replace = "return a * b;"
tests = "add"

[[mutant]]
id = "add-commuted"
concept = "add commutes"
file = "add.cpp"
find = "return a + b;"
replace = "return b + a;"
tests = "add"
equivalent = "addition commutes"

[[mutant]]
id = "unused-two"
concept = "a function no test calls"
file = "add.cpp"
find = "return 1;"
replace = "return 2;"
tests = "add"
""",
}


def main():
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        for name, text in FILES.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        run = subprocess.run([sys.executable, str(TOOL), "--root", str(root), "--scratch", str(Path(tmp) / "scratch"),
                              "--jobs", "2"], capture_output=True, text=True)
        out = run.stdout + run.stderr
        expected = ["add-times: killed by its tests", "add-commuted: survived", "(equivalent: addition commutes)",
                    "unused-two: survived", "score 1/2 killed (1 equivalent)", "survived: unused-two"]
        missing = [e for e in expected if e not in out]
        assert not missing, f"missing {missing} in:\n{out}"
        assert run.returncode == 1, f"a survivor must fail the check (exit {run.returncode}):\n{out}"
        assert (root / "add.cpp").read_text() == FILES["add.cpp"], "the source tree was changed"
        scratch_copy = Path(tmp) / "scratch" / "tree" / "add.cpp"
        assert scratch_copy.read_text() == FILES["add.cpp"], "the scratch copy was not restored"

        (root / "tests" / "mutants.toml").write_text(FILES["tests/mutants.toml"].replace("return 1;", "return 7;", 1))
        check = subprocess.run([sys.executable, str(TOOL), "--root", str(root), "--check"], capture_output=True, text=True)
        assert check.returncode == 1 and "occurs 0 times in add.cpp" in check.stderr, check.stderr
    print("mutants tool: ok")


if __name__ == "__main__":
    main()
