// Precompiled header for every translation unit that uses LibTorch. Only the parts of torch we
// use: tensors, nn modules, optimizers and serialization. Parsing these once instead of per file
// is most of the build time on a 2-core machine.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/optim/adamw.h>
#include <torch/serialize/archive.h>
#include <torch/utils.h>
