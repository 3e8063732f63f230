/*
 * portability.h — the one place the CUDA plugin's sources meet the vendor runtime.
 *
 * The sources are written against the CUDA runtime.  Built with hipcc on an AMD
 * platform (__HIP_PLATFORM_AMD__ or __HIP__, `make ROCM=1`; TD_GPU_HIP is then 1), the names below map to their HIP
 * twins, which take the same arguments.  Only the calls and types the plugin uses
 * are mapped; adding a call to the plugin means adding its line here.  The driver API
 * (virtual memory) and cuBLASLt have no line here: the ROCm build leaves them out
 * (TD_GPU_HAVE_VMM, TD_GPU_HAVE_BLASLT) and says so at run time.
 */
#ifndef TD_CUDA_PORTABILITY_H
#define TD_CUDA_PORTABILITY_H

#if defined(__HIP_PLATFORM_AMD__) || defined(__HIP__) /* hipcc, or clang -x hip */
#define TD_GPU_HIP 1
#include <hip/hip_runtime.h>

#define TD_GPU_KIND "rocm"
#define TD_GPU_HAVE_VMM 0
#define TD_GPU_HAVE_BLASLT 0
#define TD_GPU_HAVE_CUDNN 0

#define cudaError_t hipError_t
#define cudaSuccess hipSuccess
#define cudaStream_t hipStream_t
#define cudaEvent_t hipEvent_t
#define cudaDeviceProp hipDeviceProp_t
#define cudaGetDeviceCount hipGetDeviceCount
#define cudaGetErrorString hipGetErrorString
#define cudaGetErrorName hipGetErrorName
#define cudaGetLastError hipGetLastError
#define cudaSetDevice hipSetDevice
#define cudaGetDeviceProperties hipGetDeviceProperties
#define cudaRuntimeGetVersion hipRuntimeGetVersion
#define cudaDriverGetVersion hipDriverGetVersion
#define cudaMemGetInfo hipMemGetInfo
#define cudaMalloc hipMalloc
#define cudaFree hipFree
#define cudaMallocAsync hipMallocAsync
#define cudaFreeAsync hipFreeAsync
#define cudaHostAlloc hipHostMalloc
#define cudaHostAllocDefault hipHostMallocDefault
#define cudaHostAllocPortable hipHostMallocPortable
#define cudaHostAllocMapped hipHostMallocMapped
#define cudaHostGetDevicePointer hipHostGetDevicePointer
#define cudaFreeHost hipHostFree
#define cudaStreamCreateWithFlags hipStreamCreateWithFlags
#define cudaStreamNonBlocking hipStreamNonBlocking
#define cudaStreamDestroy hipStreamDestroy
#define cudaStreamSynchronize hipStreamSynchronize
#define cudaStreamWaitEvent hipStreamWaitEvent
#define cudaEventCreateWithFlags hipEventCreateWithFlags
#define cudaEventDisableTiming hipEventDisableTiming
#define cudaEventDefault hipEventDefault
#define cudaEventDestroy hipEventDestroy
#define cudaEventRecord hipEventRecord
#define cudaEventQuery hipEventQuery
#define cudaEventSynchronize hipEventSynchronize
#define cudaEventElapsedTime hipEventElapsedTime
#define cudaErrorNotReady hipErrorNotReady
#define cudaMemcpyAsync hipMemcpyAsync
#define cudaMemsetAsync hipMemsetAsync
#define cudaMemcpyHostToDevice hipMemcpyHostToDevice
#define cudaMemcpyDeviceToHost hipMemcpyDeviceToHost
#define cudaMemcpyDeviceToDevice hipMemcpyDeviceToDevice
#define cudaMemcpyKind hipMemcpyKind
#define cudaErrorIllegalAddress hipErrorIllegalAddress
#define cudaErrorLaunchFailure hipErrorLaunchFailure
#define cudaErrorAssert hipErrorAssert
#define cudaErrorLaunchTimeout hipErrorLaunchTimeOut
#define cudaErrorECCUncorrectable hipErrorECCNotCorrectable
#define cudaErrorNotSupported hipErrorNotSupported
#define cudaErrorInvalidValue hipErrorInvalidValue
#define cudaErrorInvalidDevice hipErrorInvalidDevice
#define cudaErrorMemoryAllocation hipErrorOutOfMemory
#define cudaDevAttrMultiProcessorCount hipDeviceAttributeMultiprocessorCount
#define cudaDeviceGetAttribute hipDeviceGetAttribute
#define cudaGetDevice hipGetDevice

#else /* CUDA */
#define TD_GPU_HIP 0
#include <cuda_runtime.h>

#define TD_GPU_KIND "cuda"
#define TD_GPU_HAVE_VMM 1
#define TD_GPU_HAVE_BLASLT 1
#define TD_GPU_HAVE_CUDNN 1
#endif

#endif
