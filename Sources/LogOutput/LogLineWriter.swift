import CLinux
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Writes log lines to a file descriptor (standard error), coalescing the lines of threads
/// that log at the same time into few `write`s made by a thread of its own.
///
/// A worker logs a line for every task. Written by the thread that logged it, each line was a
/// `write` under stdio's lock: on a pipe (a container's log, a terminal) every write woke the
/// reader, and a worker's slots queued on the lock; together a quarter to two fifths of the CPU
/// a trivial task took. Here a line is copied into a buffer (``append(_:urgent:)``); the writer
/// thread, woken by the first line after a quiet spell, lets lines gather for 10 ms and writes
/// them, in the order they were appended: in one `write` to a file, in pieces of whole lines of
/// at most `PIPE_BUF` bytes to a pipe or socket, whose reader may also get the writes of the
/// embedded Python (tracebacks, a bundle's prints) and of processes the bundle starts, each then
/// whole between two of ours.
///
/// An urgent line (``LogLineHandler`` makes notices and worse urgent) is written before
/// ``append(_:urgent:)`` returns, after every line appended before it: what says why a process
/// stops is never left in the buffer. What is left is written at `exit`. A process that ends
/// without `exit` (SIGKILL, a crash, `_exit`, a bundle's `os._exit`) loses the routine lines of
/// its last 10 ms, as glog's buffered INFO lines are lost; and routine lines may come after
/// what Python wrote to the same descriptor a moment later. A line that would take the buffer
/// past `limit` bytes (the reader of the pipe stopped reading) is written as an urgent one, so a
/// thread that logs then waits for the write as it did before, and the buffer never grows past
/// the limit; with a `limit` of 0 every line is.
public final class LogLineWriter: Sendable {
    private struct Pending {
        var bytes: [UInt8] = []
        /// Whether the writer thread waits for a signal: set by the thread when it found
        /// nothing to write, cleared by the line that signals it.
        var writerWaits = true
    }

    /// The writer for standard error, written out at `exit` (by this process: a child forked
    /// without exec leaves its parent's lines to the parent).
    public static let standardError: LogLineWriter = {
        let writer = LogLineWriter(fd: STDERR_FILENO)
        atexit {
            let writer = LogLineWriter.standardError
            if getpid() == writer.owner { writer.flush() }
        }
        return writer
    }()

    private let fd: Int32
    private let limit: Int
    /// Whether writes are cut into pieces of whole lines (`fd` is a pipe or a socket).
    private let inPieces: Bool
    /// The process that made this writer.
    private let owner = getpid()
    private let pending = Mutex(Pending())
    /// Held while bytes taken from `pending` are written, so that writes keep the lines' order.
    private let writing = Mutex(())
    private let wake = DispatchSemaphore(value: 0)
    /// How long the writer thread lets lines gather before it writes them (µs): a line reaches
    /// its file at most this late.
    private static let gathering: UInt32 = 10_000

    /// A writer to `fd` (not closed here) holding at most `limit` bytes before lines are
    /// written by the threads that log them (0: each line at once, no thread of its own).
    public init(fd: Int32, limit: Int = 1 << 20) {
        self.fd = fd
        self.limit = limit
        var status = stat()
        let kind = fstat(fd, &status) == 0 ? status.st_mode & S_IFMT : 0
        inPieces = kind == S_IFIFO || kind == S_IFSOCK
        guard limit > 0 else { return }
        let thread = Thread { [self] in
            clinux_name_this_thread("log-writer")
            while true {
                wake.wait()
                // The lines of the next moment gather and leave together; with none, wait again.
                repeat { usleep(Self.gathering) } while writing.withLock({ _ in write(takeAll()) })
            }
        }
        thread.start()
    }

    /// Adds `line` (with its line end); written at once, with everything before it, when
    /// `urgent`.
    public func append(_ line: some Collection<UInt8>, urgent: Bool = false) {
        let signal = pending.withLock { pending -> Bool? in
            if urgent || limit == 0 || pending.bytes.count + line.count > limit { return nil }
            pending.bytes.append(contentsOf: line)
            defer { pending.writerWaits = false }
            return pending.writerWaits
        }
        switch signal {
        case nil:
            writing.withLock { _ in
                var bytes = takeAll()
                bytes.append(contentsOf: line)
                write(bytes)
            }
        case true?:
            wake.signal()
        case false?:
            break
        }
    }

    /// Writes every line appended so far before it returns.
    public func flush() {
        _ = writing.withLock { _ in write(takeAll()) }
    }

    /// Takes the pending bytes; with none, marks the writer thread as waiting for a signal.
    private func takeAll() -> [UInt8] {
        pending.withLock { pending in
            if pending.bytes.isEmpty { pending.writerWaits = true }
            defer { pending.bytes = [] }
            return pending.bytes
        }
    }

    /// Writes all of `bytes`: to a pipe or socket in pieces of whole lines of at most
    /// `PIPE_BUF` bytes where the lines allow, which the kernel keeps whole between other
    /// writers' writes. A failed write drops the rest (standard error has nowhere to say so).
    /// Returns whether there was anything to write.
    @discardableResult
    private func write(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return false }
        guard inPieces else {
            _ = writeAll(bytes[...])
            return true
        }
        var start = 0
        while start < bytes.count {
            var end = min(start + Int(PIPE_BUF), bytes.count)
            if end < bytes.count {
                let newline = UInt8(ascii: "\n")
                if let last = bytes[start..<end].lastIndex(of: newline) {
                    end = last + 1
                } else {
                    // One line longer than PIPE_BUF: written whole.
                    end = (bytes[end...].firstIndex(of: newline) ?? bytes.count - 1) + 1
                }
            }
            guard writeAll(bytes[start..<end]) else { break }
            start = end
        }
        return true
    }

    /// Writes all of `piece`, retrying interrupted and partial writes; false when a write fails.
    private func writeAll(_ piece: ArraySlice<UInt8>) -> Bool {
        piece.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
    }
}
