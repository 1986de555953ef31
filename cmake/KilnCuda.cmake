# Decides whether the CUDA backend is built and, if so, enables the CUDA
# language and finds cuBLAS(Lt) and cuDNN.
#   KILN_CUDA=OFF   CPU only.
#   KILN_CUDA=AUTO  the CUDA backend when nvcc, cuBLAS and cuDNN are all
#                   found; otherwise says what is missing and builds CPU-only.
#   KILN_CUDA=ON    the CUDA backend, or a configure error naming what is missing.
# NCCL is looked for by src/dist/dist.cmake (optional: without it the
# data-parallel code refuses CUDA tensors, saying so at configure time).
set(KILN_WITH_CUDA OFF)
if(NOT KILN_CUDA STREQUAL "OFF")
  set(kiln_cuda_missing "")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # Finds the toolkit's libraries next to that nvcc; needs no CUDA language yet.
    find_package(CUDAToolkit QUIET)
    if(NOT TARGET CUDA::cublas OR NOT TARGET CUDA::cublasLt)
      list(APPEND kiln_cuda_missing "cuBLAS/cuBLASLt (part of the CUDA toolkit)")
    endif()
    find_package(CUDNN QUIET)
    if(NOT CUDNN_FOUND)
      list(APPEND kiln_cuda_missing "cuDNN 9 (cudnn.h and libcudnn.so, or set CUDNN_ROOT)")
    endif()
  else()
    list(APPEND kiln_cuda_missing "nvcc (the CUDA compiler, looked for on PATH and in /usr/local/cuda/bin)")
  endif()

  if(kiln_cuda_missing)
    list(JOIN kiln_cuda_missing "; " kiln_cuda_missing_text)
    if(KILN_CUDA STREQUAL "ON")
      message(FATAL_ERROR "kiln: KILN_CUDA=ON but the CUDA backend cannot be built, missing: ${kiln_cuda_missing_text}")
    endif()
    message(STATUS "kiln: building CPU-only (KILN_CUDA=AUTO); missing for the CUDA backend: ${kiln_cuda_missing_text}")
  else()
    set(KILN_WITH_CUDA ON)
  endif()
endif()

if(KILN_WITH_CUDA)
  # 'native' fails on machines with no GPU, so the default is explicit:
  # sm_90 (H100/H200). Override with -DCMAKE_CUDA_ARCHITECTURES=...
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  message(STATUS "kiln: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES}, "
                 "cuDNN ${CUDNN_LIBRARY})")
endif()
