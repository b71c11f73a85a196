#include "collapse/model/device_name.h"

#include <algorithm>

namespace collapse {

bool valid_device_name(const std::string& name) {
  if (name == "auto" || name == "cpu" || name == "cuda") return true;
  if (!name.starts_with("cuda:")) return false;
  const std::string index = name.substr(5);  // 0, or digits without a leading zero
  if (index.empty() || index.size() > 4 || (index.size() > 1 && index[0] == '0')) return false;
  return std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace collapse
