// Trains each distinct model once per run folder. The arms of an experiment usually train the same
// generation-0 model (same options, training documents, seed and device: the same bytes), and a
// sweep over sampling or curation settings would otherwise pay for it once per arm.
//
// A training is identified by a JSON object of everything its result depends on; its key is the
// first 16 hex digits of the SHA-256 of that object's dump. The first caller with a key trains into
// STORE/<name>-<key>/model, records identity.json and then DONE; every caller (that one too) then
// gets `out` filled with hard links to the model's files (copies where the file system refuses
// links). A lock file per key (STORE/<name>-<key>.lock) makes concurrent callers (`collapse run
// --arm` tasks of one run folder) wait for the one training instead of training twice. A folder
// without DONE was interrupted: the next caller removes it and trains again.
//
// Hard links share the bytes: collapse only ever replaces files (write then rename), which never
// changes a linked copy, but a file edited in place changes every arm's copy.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace collapse {

struct TrainOnceResult {
  bool trained_here = false;   // this call ran `train`
  std::string trained_by;      // the `who` of the call that trained it
  std::filesystem::path shared;  // STORE/<name>-<key>
};

// `train(dir)` must write the model folder `dir` (it does not exist yet). `out` must not exist.
TrainOnceResult train_once(const std::filesystem::path& store, const std::string& name,
                           const nlohmann::json& identity, const std::string& who,
                           const std::filesystem::path& out,
                           const std::function<void(const std::filesystem::path&)>& train);

}  // namespace collapse
