// TensorBoard event files as TensorBoard reads them: CRC-32C and its mask on published test
// vectors, and a file of scalars and texts read back by tensorboard's EventAccumulator
// (tests/util/event_file_tensorboard.py; under CI a missing reference is a failure, not a skip),
// which checks every record's CRCs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "collapse/util/atomic_file.h"
#include "collapse/util/event_file.h"
#include "support/test_support.h"

using namespace collapse;
using nlohmann::json;

TEST(EventFile, Crc32cMatchesThePublishedCheckValues) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283U);                    // the CRC catalogue's check value
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAU);          // RFC 3720 (iSCSI), B.4: 32 zeros
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43U);        // 32 bytes of 0xFF
  EXPECT_EQ(crc32c("6789", crc32c("12345")), crc32c("123456789"));  // it continues
  const std::uint32_t crc = crc32c("123456789");
  EXPECT_EQ(masked_crc32c("123456789"), ((crc >> 15) | (crc << 17)) + 0xa282ead8U);
}

TEST(EventFile, ARecordIsLengthAndDataEachFollowedByItsMaskedCrc) {
  const std::string record = tf_record("abc");
  ASSERT_EQ(record.size(), 8u + 4u + 3u + 4u);
  EXPECT_EQ(record.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(record.substr(12, 3), "abc");
}

TEST(EventFile, TensorBoardReadsBackEveryScalarAndTextWithTheirSteps) {
  const auto dir = tests::fresh_dir("event-file");
  {
    EventFileWriter w(dir, "arm-a.seed-0");
    EXPECT_NE(w.path().filename().string().find("events.out.tfevents."), std::string::npos);
    for (int step = 1; step <= 5; ++step) w.scalar("train/loss", step, 8.0 - 0.5 * step);
    w.scalar("valid/loss", 5, 6.25);
    w.text("config", 0, "| key | value |\n|---|---|\n| train.steps | 5 |");
  }
  const auto run = tests::run_shell(std::string(COLLAPSE_PYTHON) + " " + COLLAPSE_SOURCE_DIR +
                                    "/tests/util/event_file_tensorboard.py " + dir.string());
  if (run.exit_code == 77) SKIP_WITHOUT_REFERENCE("tensorboard not importable by " << COLLAPSE_PYTHON);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json read = json::parse(run.out);
  EXPECT_EQ(read["file_version"], 2.0);  // "brain.Event:2", as TensorBoard parses it
  ASSERT_EQ(read["scalars"]["train/loss"].size(), 5u);
  for (int step = 1; step <= 5; ++step) {
    EXPECT_EQ(read["scalars"]["train/loss"][step - 1][0], step);
    EXPECT_DOUBLE_EQ(read["scalars"]["train/loss"][step - 1][1].get<double>(), 8.0 - 0.5 * step);
  }
  EXPECT_EQ(read["scalars"]["valid/loss"], json::parse("[[5, 6.25]]"));
  EXPECT_EQ(read["texts"]["config"], json::parse(R"([[0, "| key | value |\n|---|---|\n| train.steps | 5 |"]])"));

  // The reader checks the CRCs: a byte flipped in the last record's data ends the file there.
  const auto corrupt = tests::fresh_dir("event-file-corrupt");
  std::string bytes;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) bytes = read_file(entry.path());
  bytes[bytes.size() - 10] = static_cast<char>(bytes[bytes.size() - 10] ^ 0xFF);
  tests::write_text(corrupt / "events.out.tfevents.0.host", bytes);
  const auto bad = tests::run_shell(std::string(COLLAPSE_PYTHON) + " " + COLLAPSE_SOURCE_DIR +
                                    "/tests/util/event_file_tensorboard.py " + corrupt.string());
  ASSERT_EQ(bad.exit_code, 0) << bad.out << bad.err;
  const json partial = json::parse(bad.out);
  EXPECT_EQ(partial["scalars"]["train/loss"].size(), 5u);
  EXPECT_FALSE(partial["texts"].contains("config"));
}

TEST(EventFile, ASessionStartInALaterFileReplacesTheStepsFromThereOn) {
  // A process killed after step 5, and the one that resumes at step 3: its file (written later,
  // named later) starts with SessionLog START at 3, and the reader keeps steps 1-2 of the first.
  const auto dir = tests::fresh_dir("event-file-restart");
  {
    EventFileWriter first(dir, "a");
    first.session_start(1);
    for (int step = 1; step <= 5; ++step) first.scalar("train/loss", step, step);
  }
  {
    EventFileWriter second(dir, "b");
    second.session_start(3);
    for (int step = 3; step <= 4; ++step) second.scalar("train/loss", step, 10 * step);
  }
  const auto run = tests::run_shell(std::string(COLLAPSE_PYTHON) + " " + COLLAPSE_SOURCE_DIR +
                                    "/tests/util/event_file_tensorboard.py " + dir.string());
  if (run.exit_code == 77) SKIP_WITHOUT_REFERENCE("tensorboard not importable by " << COLLAPSE_PYTHON);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(json::parse(run.out)["scalars"]["train/loss"], json::parse("[[1, 1], [2, 2], [3, 30], [4, 40]]"));
}
