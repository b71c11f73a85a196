# Locates LibTorch. Order: an explicit Torch_DIR / CMAKE_PREFIX_PATH (plain find_package),
# then the torch package of the project's .venv, then that of python3.
# Sets COLLAPSE_TORCH_HAS_CUDA to whether the torch found was built with CUDA, and
# COLLAPSE_TORCH_PYTHON to the Python whose torch it is (unset for an explicit Torch_DIR).

# A CUDA build of LibTorch otherwise probes the GPUs of the configuring machine by compiling and
# running a CUDA program (which fails on CMake < 3.26, which has no C++20 flag for nvcc, and on
# machines without a GPU). Our kernels name their architectures themselves (CollapseCuda.cmake).
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(TORCH_CUDA_ARCH_LIST "8.0;9.0")
endif()
find_package(Torch QUIET CONFIG)
if(NOT Torch_FOUND)
  set(_collapse_pythons "${PROJECT_SOURCE_DIR}/.venv/bin/python" python3)
  foreach(_py IN LISTS _collapse_pythons)
    if(_py STREQUAL "python3" OR EXISTS "${_py}")
      execute_process(
        COMMAND "${_py}" -c "import torch; print(torch.utils.cmake_prefix_path); print(torch.version.cuda or '')"
        OUTPUT_VARIABLE _torch_info OUTPUT_STRIP_TRAILING_WHITESPACE
        RESULT_VARIABLE _torch_rc ERROR_QUIET)
      if(_torch_rc EQUAL 0 AND _torch_info)
        string(REPLACE "\n" ";" _torch_info "${_torch_info}")
        list(GET _torch_info 0 _torch_prefix)
        list(LENGTH _torch_info _n)
        if(_n GREATER 1)
          list(GET _torch_info 1 _torch_cuda)
        endif()
        message(STATUS "collapse: using the torch of ${_py}: ${_torch_prefix}")
        # A CUDA build of LibTorch cannot even be configured without the CUDA toolkit: say so
        # here, in our words, instead of letting Caffe2Config fail.
        if(_torch_cuda)
          find_program(_collapse_nvcc nvcc PATHS /usr/local/cuda/bin)
          if(NOT _collapse_nvcc AND NOT CMAKE_CUDA_COMPILER)
            message(FATAL_ERROR
              "collapse: the torch of ${_py} is a CUDA ${_torch_cuda} build, and LibTorch's CMake "
              "files need the CUDA toolkit (nvcc), which is not installed. Install the toolkit, or "
              "use a CPU build of torch: rm -rf .venv && COLLAPSE_TORCH_INDEX="
              "https://download.pytorch.org/whl/cpu scripts/bootstrap.sh")
          endif()
        endif()
        list(APPEND CMAKE_PREFIX_PATH "${_torch_prefix}")
        # The tests' Python references run on this same Python: scripts/bootstrap.sh picks it by
        # the same order and installs the test helpers into it (tests/CMakeLists.txt).
        set(COLLAPSE_TORCH_PYTHON "${_py}" CACHE INTERNAL "the Python whose torch this build links")
        break()
      endif()
    endif()
  endforeach()
  find_package(Torch CONFIG)
endif()
if(NOT Torch_FOUND)
  message(FATAL_ERROR
    "collapse: LibTorch not found. Run scripts/bootstrap.sh (it installs torch into .venv), "
    "or pass -DTorch_DIR=/path/to/libtorch/share/cmake/Torch.")
endif()

# TORCH_CXX_FLAGS carries the ABI define; keep it on our targets, not globally.
separate_arguments(COLLAPSE_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")
set(COLLAPSE_TORCH_HAS_CUDA OFF)
if(TARGET torch_cuda OR TARGET c10_cuda OR CUDA_FOUND)
  set(COLLAPSE_TORCH_HAS_CUDA ON)
endif()
message(STATUS "collapse: torch ${Torch_VERSION}, CUDA build: ${COLLAPSE_TORCH_HAS_CUDA}")
