import SkiffFuzzTargets

/// libFuzzer's entry point for `FuzzTarget.fetchAnswer` (built by Tools/fuzz.sh only).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.fetchAnswer.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
