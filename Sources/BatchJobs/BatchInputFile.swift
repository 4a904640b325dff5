import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The file a batch reads its inputs from, `-` for standard input, and its format.
public struct BatchInputFile: Sendable {
    /// How the inputs are written.
    public enum Format: String, Sendable, Codable, CaseIterable {
        /// A CSV with a `url` or `args` column (``CSVInput``).
        case csv
        /// JSON Lines of request bodies (``JSONLinesInput``).
        case jsonl
    }

    /// The path, or `-` for standard input.
    public var path: String
    /// How the inputs are written.
    public var format: Format

    /// Whether the inputs come from standard input (which cannot be read twice or checked on a
    /// resume).
    public var isStandardInput: Bool { path == "-" }

    /// The input at `path`, in `format` or else the one its name ends with (`.csv`; `.jsonl`,
    /// `.ndjson` or `.json`); standard input is JSON Lines unless `format` says.
    ///
    /// - Throws: ``BatchInputError`` when the name says no format and none is given.
    public init(path: String, format: Format?) throws(BatchInputError) {
        self.path = path
        if let format {
            self.format = format
            return
        }
        let name = path.lowercased()
        if path == "-" || [".jsonl", ".ndjson", ".json"].contains(where: name.hasSuffix) {
            self.format = .jsonl
        } else if name.hasSuffix(".csv") {
            self.format = .csv
        } else {
            throw BatchInputError("\(path): say its format with --format csv or --format jsonl")
        }
    }

    /// Its digest and line count (nil for standard input): read once before the batch starts.
    public func digest() throws(BatchInputError) -> FileDigest? {
        isStandardInput ? nil : try FileDigest.of([path])
    }

    /// How many inputs it holds, as far as its line count tells (a CSV field holding a line
    /// break makes it an overestimate).
    public func estimatedTotal(_ digest: FileDigest?) -> Int? {
        digest.map { format == .csv ? max(0, $0.lines - 1) : $0.lines }
    }

    /// A reader of its inputs, from the start.
    ///
    /// - Throws: ``BatchInputError`` when it cannot be opened, or a CSV's header is unusable.
    public func open(returnPickled: Bool) throws(BatchInputError) -> any BatchInputReader {
        let fd = isStandardInput ? dup(STDIN_FILENO) : Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BatchInputError("\(path): cannot open it: \(String(cString: strerror(errno)))") }
        let name = isStandardInput ? "standard input" : path
        switch format {
        case .jsonl:
            return JSONLinesInput(LineReader(fd: fd, name: name), returnPickled: returnPickled)
        case .csv:
            return try CSVInput(fd: fd, name: name, returnPickled: returnPickled)
        }
    }
}
