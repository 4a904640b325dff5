import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The journal of a batch's output folder: after each line of `results.jsonl`, a line
/// `INDEX STATUS END` (the input's index, `S` or `F`, where that result line ends in the file).
///
/// A result counts as done only once its journal line is whole and its result line is in the
/// file, so whatever a crash left (a result line without its journal line, half of either) is
/// cut off on the next start and that input runs again: each input ends with exactly one line.
public enum BatchJournal {
    /// What a folder's files say is done.
    public struct Recovered: Sendable {
        /// The inputs done.
        public var done = DoneSet()
        /// How many results there are by status (`SUCCESS`, `FAILURE`).
        public var counts: [String: Int] = [:]
        /// Where `results.jsonl` is cut (the end of its last journaled line).
        public var resultsLength = 0
        /// Where the journal is cut (the end of its last whole, consistent line).
        public var journalLength = 0
    }

    /// Reads the journal at `journal` against `results.jsonl` of `resultsLength` bytes.
    ///
    /// - Throws: ``BatchOutputError`` when the journal exists but cannot be read.
    public static func recover(journal: String, resultsLength: Int) throws(BatchOutputError) -> Recovered {
        var recovered = Recovered()
        let fd = open(journal, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return recovered }
            throw BatchOutputError("\(journal): cannot open it: \(String(cString: strerror(errno)))")
        }
        let lines = LineReader(fd: fd, name: journal)
        let journalSize = fileLength(journal)
        do {
            while let (_, line) = try lines.next() {
                let fields = line.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
                guard fields.count == 3, let index = Int(fields[0]), index >= 0, let end = Int(fields[2]),
                    end > recovered.resultsLength, end <= resultsLength,
                    let status = ["S": "SUCCESS", "F": "FAILURE"][fields[1]],
                    recovered.journalLength + line.count + 1 <= journalSize
                else { break }
                recovered.done.insert(index)
                recovered.counts[status, default: 0] += 1
                recovered.resultsLength = end
                recovered.journalLength += line.count + 1
            }
        } catch {
            throw BatchOutputError(error.message)
        }
        return recovered
    }

    /// The size of the file at `path`, 0 when there is none.
    static func fileLength(_ path: String) -> Int {
        var facts = stat()
        return stat(path, &facts) == 0 ? Int(facts.st_size) : 0
    }
}

/// A batch's output folder cannot be used: named, with what to do.
public struct BatchOutputError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and what to do.
    public var message: String

    /// An error with its message.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
