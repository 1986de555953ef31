# Data-parallel training (src/dist/), included by src/CMakeLists.txt once the
# kiln target exists. MPI (Debian: libopenmpi-dev) carries CPU tensors and
# the start-up exchange; NCCL carries CUDA tensors. Both are optional: without
# MPI only a world of one process works, without NCCL (or CUDA) CUDA tensors
# are refused. Each missing piece is said at configure time.
set(KILN_DIST_DIR ${CMAKE_CURRENT_LIST_DIR})
target_sources(kiln PRIVATE
  ${KILN_DIST_DIR}/bucket_layout.cpp ${KILN_DIST_DIR}/communicator.cpp ${KILN_DIST_DIR}/ddp.cpp
  ${KILN_DIST_DIR}/init.cpp ${KILN_DIST_DIR}/sync_batchnorm.cpp ${KILN_DIST_DIR}/training.cpp
  ${KILN_DIST_DIR}/zero.cpp)

find_package(MPI COMPONENTS CXX)
if(MPI_CXX_FOUND)
  target_sources(kiln PRIVATE ${KILN_DIST_DIR}/mpi_runtime.cpp ${KILN_DIST_DIR}/mpi_communicator.cpp)
  target_link_libraries(kiln PRIVATE MPI::MPI_CXX)
  # kiln uses MPI's C API only; the deprecated C++ bindings stay out.
  target_compile_definitions(kiln PRIVATE KILN_WITH_MPI=1 OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
  set_property(TARGET kiln PROPERTY KILN_WITH_MPI ON)  # read by tests/dist
  message(STATUS "kiln: MPI ${MPI_CXX_VERSION} found: dist runs across processes (mpirun ${MPIEXEC_EXECUTABLE})")
else()
  target_compile_definitions(kiln PRIVATE KILN_WITH_MPI=0)
  set_property(TARGET kiln PROPERTY KILN_WITH_MPI OFF)
  message(STATUS "kiln: MPI not found (libopenmpi-dev): dist works for a single process only")
endif()

set(KILN_WITH_NCCL OFF)
if(KILN_WITH_CUDA)
  find_package(NCCL QUIET)  # cmake/FindNCCL.cmake: NCCL_ROOT, the CUDA toolkit, a pip wheel
  if(NCCL_FOUND)
    set(KILN_WITH_NCCL ON)
    target_sources(kiln PRIVATE ${KILN_DIST_DIR}/nccl_communicator.cpp ${KILN_DIST_DIR}/nccl_unique_id.cpp)
    target_link_libraries(kiln PRIVATE NCCL::nccl)
    message(STATUS "kiln: NCCL found (${NCCL_LIBRARY}): dist carries CUDA tensors over NCCL")
  else()
    message(STATUS "kiln: NCCL not found (set NCCL_ROOT): dist refuses CUDA tensors")
  endif()
endif()
set_property(TARGET kiln PROPERTY KILN_WITH_NCCL ${KILN_WITH_NCCL})
if(KILN_WITH_NCCL)
  target_compile_definitions(kiln PRIVATE KILN_WITH_NCCL=1)
else()
  target_compile_definitions(kiln PRIVATE KILN_WITH_NCCL=0)
endif()
