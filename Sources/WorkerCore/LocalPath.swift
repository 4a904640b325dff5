import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a local path really leads: what `--url-root` checks, so that neither `..` nor a symbolic
/// link can lead out of a root.
enum LocalPath {
    /// The absolute path with every symbolic link and `..` resolved (`realpath`); nil when it does
    /// not exist.
    static func resolved(_ path: String) -> String? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }

    /// The absolute path with `.` and `..` removed by their names alone, for a path that does not
    /// exist (so has no links to follow).
    static func standardized(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        for part in absolute.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether `path` is `folder` or inside it (both absolute and resolved).
    static func isInside(_ path: String, folder: String) -> Bool {
        path == folder || path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }
}
