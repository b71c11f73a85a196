# COLLAPSE_CUDA=AUTO|ON|OFF. AUTO builds the kernels in kernels/ when nvcc is found; ON insists.
# Results: COLLAPSE_KERNELS (the collapse_kernels library exists) and COLLAPSE_CUDA_GLUE (the
# LibTorch side may call them: the kernels were built and the torch found has CUDA).
include(CheckLanguage)
# Hopper (H100/H200) and Ampere by default; e.g. -DCOLLAPSE_CUDA_ARCHITECTURES=native.
set(COLLAPSE_CUDA_ARCHITECTURES "80;90" CACHE STRING "CUDA architectures of the kernels")
set(COLLAPSE_KERNELS OFF)
set(COLLAPSE_CUDA_GLUE OFF)
if(NOT COLLAPSE_CUDA MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "collapse: COLLAPSE_CUDA must be AUTO, ON or OFF, not '${COLLAPSE_CUDA}'")
endif()

file(GLOB COLLAPSE_KERNEL_SOURCES CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/kernels/*.cu")
if(NOT COLLAPSE_CUDA STREQUAL "OFF")
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    # CMake < 3.26 knows no C++20 flag for nvcc (nvcc >= 12 takes -std=c++20).
    if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    if(COLLAPSE_KERNEL_SOURCES)
      add_library(collapse_kernels STATIC ${COLLAPSE_KERNEL_SOURCES})
      # kernels/ also holds the host/device headers shared with the CPU references (ngram_key.h).
      target_include_directories(collapse_kernels PUBLIC "${PROJECT_SOURCE_DIR}/kernels")
      find_package(CUDAToolkit REQUIRED)
      target_link_libraries(collapse_kernels PUBLIC CUDA::cudart)
      # Set on the target: a CUDA build of torch resets CMAKE_CUDA_ARCHITECTURES globally.
      set_target_properties(collapse_kernels PROPERTIES CUDA_ARCHITECTURES "${COLLAPSE_CUDA_ARCHITECTURES}")
      set(COLLAPSE_KERNELS ON)
    endif()
  elseif(COLLAPSE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "collapse: COLLAPSE_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
endif()
if(COLLAPSE_KERNELS AND COLLAPSE_TORCH_HAS_CUDA)
  set(COLLAPSE_CUDA_GLUE ON)
endif()
message(STATUS "collapse: CUDA=${COLLAPSE_CUDA} nvcc=${CMAKE_CUDA_COMPILER} "
               "kernels=${COLLAPSE_KERNELS} torch-cuda-glue=${COLLAPSE_CUDA_GLUE}")
