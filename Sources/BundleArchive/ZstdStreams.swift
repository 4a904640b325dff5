import CZstd

/// Compresses what is written to it into `output`, as one zstd frame with a content checksum
/// (libzstd's `ZSTD_compressStream2`), a chunk at a time.
public final class ZstdCompressor: ByteSink {
    private let context: OpaquePointer
    private let output: ByteSink
    private let buffer: UnsafeMutableRawBufferPointer
    private let bundle: String

    /// Makes a compressor at `level` (1 fastest ... 19 smallest; 3 is zstd's default).
    public init(level: Int32 = 3, into output: ByteSink, bundle: String) {
        context = ZSTD_createCCtx()
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        self.output = output
        self.bundle = bundle
        buffer = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 16)
    }

    deinit {
        ZSTD_freeCCtx(context)
        buffer.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while input.pos < input.size {
            _ = try step(&input, ZSTD_e_continue)
        }
    }

    /// Flushes everything and ends the frame; write nothing after this.
    public func finish() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
    }

    /// One call to libzstd; returns what it says is left to flush.
    private func step(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws -> Int {
        var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &out, &input, directive)
        if ZSTD_isError(remaining) != 0 {
            throw ArchiveError(
                .io, bundle: bundle, reason: "zstd cannot compress: \(String(cString: ZSTD_getErrorName(remaining)))")
        }
        if out.pos > 0 { try output.write(UnsafeRawBufferPointer(rebasing: buffer[0..<out.pos])) }
        return remaining
    }
}

/// Decompresses a zstd stream read from `input` (libzstd's `ZSTD_decompressStream`), a chunk
/// at a time; a stream that ends inside a frame is reported as truncated.
///
/// The window a frame may ask for is capped (128 MiB, zstd's default limit), so a hostile
/// frame cannot make the reader allocate without bound.
public final class ZstdDecompressor: ByteSource {
    private let context: OpaquePointer
    private let input: ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var inputEnded = false
    private var frameOpen = false
    private var sawFrame = false
    private let bundle: String

    /// Makes a decompressor that reads compressed bytes from `input`.
    public init(from input: ByteSource, bundle: String) {
        context = ZSTD_createDCtx()
        ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 27)
        self.input = input
        self.bundle = bundle
        buffer = .allocate(byteCount: ZSTD_DStreamInSize(), alignment: 16)
    }

    deinit {
        ZSTD_freeDCtx(context)
        buffer.deallocate()
    }

    public func read(into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        guard destination.count > 0 else { return 0 }
        while true {
            if start == end && !inputEnded {
                end = try input.read(into: buffer)
                start = 0
                inputEnded = end == 0
            }
            if start == end && inputEnded {
                guard sawFrame else {
                    throw ArchiveError(.truncated, bundle: bundle, reason: "is empty: a .bundle file is a zstd stream")
                }
                guard !frameOpen else {
                    throw ArchiveError(
                        .truncated, bundle: bundle,
                        reason: "is truncated: the zstd stream ends in the middle of a frame")
                }
                return 0
            }
            var source = ZSTD_inBuffer(src: buffer.baseAddress! + start, size: end - start, pos: 0)
            var out = ZSTD_outBuffer(dst: destination.baseAddress, size: destination.count, pos: 0)
            let hint = ZSTD_decompressStream(context, &out, &source)
            if ZSTD_isError(hint) != 0 {
                throw ArchiveError(
                    .corrupt, bundle: bundle,
                    reason:
                        "is not a .bundle file: not a valid zstd stream (\(String(cString: ZSTD_getErrorName(hint))))")
            }
            sawFrame = true
            frameOpen = hint != 0
            start += source.pos
            if out.pos > 0 { return out.pos }
        }
    }
}
