#include "collapse/experiment/train_once.h"

#include <system_error>

#include "collapse/util/atomic_file.h"
#include "collapse/util/checksum.h"
#include "collapse/util/error.h"
#include "collapse/util/file_lock.h"

namespace collapse {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// `to` mirrors `from`: folders created, files hard-linked (copied where linking fails, e.g.
// across file systems).
void link_tree(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const auto& entry : fs::recursive_directory_iterator(from)) {
    const fs::path target = to / fs::relative(entry.path(), from);
    if (entry.is_directory()) {
      fs::create_directories(target);
      continue;
    }
    std::error_code linked;
    fs::create_hard_link(entry.path(), target, linked);
    if (linked) fs::copy_file(entry.path(), target, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

TrainOnceResult train_once(const fs::path& store, const std::string& name, const json& identity,
                           const std::string& who, const fs::path& out,
                           const std::function<void(const fs::path&)>& train) {
  if (fs::exists(out)) fail("train_once: {} exists already", out.string());
  const std::string key = sha256_hex(identity.dump()).substr(0, 16);
  TrainOnceResult result;
  result.shared = store / (name + "-" + key);
  fs::create_directories(store);
  const FileLock lock(store / (name + "-" + key + ".lock"));
  const fs::path record = result.shared / "identity.json";
  if (fs::exists(result.shared / "DONE")) {
    json recorded;
    try {
      recorded = json::parse(read_file(record));
    } catch (const json::exception& e) {
      fail("{}: corrupt JSON ({}); remove {} to train it again", record.string(), e.what(),
           result.shared.string());
    }
    // A different identity under the same 64-bit key: never reuse a model on a hash collision.
    if (recorded.value("identity", json()) != identity) {
      fail("{}: records another training than this one under the same key; remove {} to train it "
           "again", record.string(), result.shared.string());
    }
    result.trained_by = recorded.value("trained_by", std::string("?"));
  } else {
    fs::remove_all(result.shared);  // an interrupted training is redone from its start
    fs::create_directories(result.shared);
    train(result.shared / "model");
    write_file_atomic(record, json({{"identity", identity}, {"trained_by", who}}).dump(1) + "\n");
    write_file_atomic(result.shared / "DONE", "done\n");
    result.trained_here = true;
    result.trained_by = who;
  }
  link_tree(result.shared / "model", out);
  return result;
}

}  // namespace collapse
