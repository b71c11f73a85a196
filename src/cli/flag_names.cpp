#include "flag_names.h"

#include <algorithm>

namespace collapse::cli {

std::string flag_of(const std::string& key) {
  if (key == "order") return "--sampler-order";
  std::string flag = "--" + key;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

}  // namespace collapse::cli
