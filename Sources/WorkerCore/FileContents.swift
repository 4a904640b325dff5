import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads whole files with plain system calls into one buffer: no `Data` to copy from, and no
/// URL to build, on the paths every task takes.
public enum FileContents {
    /// The bytes of the file at `path` and when it was last modified; nil when it cannot be
    /// opened or read.
    public static func read(_ path: String) -> (bytes: [UInt8], modified: Date)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let modified = Date(
            timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1_000_000_000)
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            filled += count
        }
        if filled < bytes.count { bytes.removeLast(bytes.count - filled) }
        return (bytes, modified)
    }
}
