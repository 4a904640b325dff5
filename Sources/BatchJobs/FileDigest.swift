import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// SHA-256 of files read a block at a time, with a count of the lines that hold more than
/// white space: how a batch recognises its input and bundle on a resume, and estimates its total.
public struct FileDigest: Sendable, Equatable, Codable {
    /// The digest, in lowercase hex.
    public var sha256: String
    /// How many bytes were read.
    public var bytes: Int
    /// How many lines hold something besides white space.
    public var lines: Int

    /// A digest from its parts.
    public init(sha256: String, bytes: Int, lines: Int) {
        self.sha256 = sha256
        self.bytes = bytes
        self.lines = lines
    }

    /// The digest of `paths`, read one after the other.
    ///
    /// - Throws: ``BatchInputError`` naming the file that cannot be read.
    public static func of(_ paths: [String]) throws(BatchInputError) -> FileDigest {
        var hash = SHA256()
        var bytes = 0
        var lines = 0
        var lineHasText = false
        var block = [UInt8](repeating: 0, count: 1 << 20)
        for path in paths {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw BatchInputError("\(path): cannot open it: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            while true {
                let count = block.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else {
                    throw BatchInputError("\(path): cannot read it: \(String(cString: strerror(errno)))")
                }
                if count == 0 { break }
                block.withUnsafeBytes { hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                for byte in block[..<count] {
                    if byte == 0x0A {
                        if lineHasText { lines += 1 }
                        lineHasText = false
                    } else if byte != 0x20, byte != 0x09, byte != 0x0D {
                        lineHasText = true
                    }
                }
                bytes += count
            }
            if lineHasText { lines += 1 }
            lineHasText = false
        }
        let hex = hash.finalize().map { String(format: "%02x", $0) }.joined()
        return FileDigest(sha256: hex, bytes: bytes, lines: lines)
    }
}
