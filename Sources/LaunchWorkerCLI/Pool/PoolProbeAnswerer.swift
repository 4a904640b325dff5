import CLinux
import Foundation
import Synchronization
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// The supervisor's answers on the pool's listening socket while no worker process is ready
/// (all loading their bundle, all restarting, the pool draining): then no worker process
/// accepts, and without these a probe would wait in the socket's queue instead of being told.
///
/// Answered as a single worker answers while it loads: `GET /healthz` and `/healthcheck` 200
/// (the pool is alive), `/readyz` 503 with the pool's state and why, anything else (`/predict`,
/// `/metrics`) 503 saying no worker process is ready; one request per connection, then
/// `Connection: close`. The supervisor has no Python and no HTTP server: this is a thread of
/// blocking socket calls, accepting only while ``answering`` is set, so connections go to the
/// worker processes whenever one is ready.
///
/// The socket changes hands in turns: while the thread answers or may be in `accept`, it keeps a
/// file in the pool's folder (``answeringFile(in:)``), and worker processes accept only while
/// that file is absent. It makes the file before it waits for a connection and removes it once
/// it has stopped answering. Without the turns, a worker process that had just become ready and
/// the supervisor, not yet told, took connections side by side, and the supervisor refused some
/// with 503. Should the file not be made (a file system out of inodes), the supervisor answers
/// anyway and tries again at its next wait: connections are then shared at a hand-over as without
/// turns, never left to nobody.
final class PoolProbeAnswerer: Sendable {
    /// How long a wait for a connection lasts before ``answering`` is looked at again.
    static let pollInterval: Int32 = 100
    /// How long a client may take to send its request, or to take the answer.
    static let clientTimeoutSeconds = 2
    /// The largest request (head and body) read; a larger one is answered without reading it all.
    static let maxRequestBytes = 1 << 20

    private let descriptor: Int32
    private let readiness: Readiness
    private let answeringFile: String
    private let state = Atomic(true)
    private let stopped = Atomic(false)

    /// Answers on `descriptor` (the pool's listening socket) with the pool's `readiness`;
    /// answering from the start, when no worker process is ready yet. `folder` is the pool's,
    /// where the worker processes look for ``answeringFile(in:)``.
    init(descriptor: Int32, readiness: Readiness, folder: String) {
        self.descriptor = descriptor
        self.readiness = readiness
        self.answeringFile = Self.answeringFile(in: folder)
    }

    /// The file in the pool's `folder` that exists while the supervisor answers on the socket
    /// (or may still be in `accept`): the worker processes leave the socket to it meanwhile.
    static func answeringFile(in folder: String) -> String { "\(folder)/supervisor-answers" }

    /// Whether the supervisor answers: set while no worker process is ready.
    var answering: Bool {
        get { state.load(ordering: .relaxed) }
        set { state.store(newValue, ordering: .relaxed) }
    }

    /// Starts the thread; it runs until ``stop()``. The answering file is made first, before any
    /// worker process can be ready.
    func start() {
        let madeFirst = makeAnsweringFile()
        Thread { [self] in
            clinux_name_this_thread("pool-answerer")
            var holdsSocket = madeFirst
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            while !stopped.load(ordering: .relaxed) {
                guard answering else {
                    if holdsSocket { holdsSocket = !removeAnsweringFile() }
                    usleep(UInt32(Self.pollInterval) * 1000)
                    continue
                }
                if !holdsSocket { holdsSocket = makeAnsweringFile() }
                guard poll(&waiting, 1, Self.pollInterval) > 0, answering else { continue }
                let connection = accept(descriptor, nil, nil)
                // EAGAIN: a worker process took it.
                guard connection >= 0 else { continue }
                answer(connection)
                close(connection)
            }
            if holdsSocket { _ = removeAnsweringFile() }
        }.start()
    }

    /// Makes the file that keeps the worker processes from accepting; false when it cannot be
    /// made (a file system out of inodes), to try again at the next wait.
    private func makeAnsweringFile() -> Bool {
        let file = open(answeringFile, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard file >= 0 else { return false }
        close(file)
        return true
    }

    /// Removes the answering file, which lets the worker processes accept; false when it is
    /// still there, to try again after the next pause.
    private func removeAnsweringFile() -> Bool {
        unlink(answeringFile) == 0 || errno == ENOENT
    }

    /// Stops answering for good (before the socket closes).
    func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Reads one request on `connection` and answers it.
    private func answer(_ connection: Int32) {
        _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
        _ = fcntl(connection, F_SETFL, fcntl(connection, F_GETFL) & ~O_NONBLOCK)
        var limit = timeval(tv_sec: Self.clientTimeoutSeconds, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard let target = readRequest(connection) else { return }
        let (status, detail) = reply(to: target)
        let body = #"{"detail":"\#(detail)"}"#
        let head = [
            "HTTP/1.1 \(status)", "Content-Type: application/json", "Content-Length: \(body.utf8.count)",
            "Connection: close", "Server: launch-worker",
        ]
        let bytes = Array((head.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
        _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        // Closing with nothing left unread sends a FIN, not a reset the client might see first.
        shutdown(connection, Int32(SHUT_WR))
    }

    /// The status line's code and text and the detail for `target` (`METHOD PATH`).
    private func reply(to target: String) -> (String, String) {
        let parts = target.split(separator: " ")
        let path = parts.count > 1 ? String(parts[1].prefix { $0 != "?" }) : ""
        let state = readiness.current.rawValue
        switch path {
        case "/healthz", "/healthcheck": return ("200 OK", "alive")
        case "/readyz": return ("503 Service Unavailable", "\(state): no worker process is ready")
        default: return ("503 Service Unavailable", "not ready: the pool is \(state), no worker process is ready")
        }
    }

    /// Reads a request's head and, when it says how long its body is, the body, so that closing
    /// leaves nothing unread; returns its request line (nil when none came in time).
    private func readRequest(_ connection: Int32) -> String? {
        var received: [UInt8] = []
        let separator = Array("\r\n\r\n".utf8)
        var chunk = [UInt8](repeating: 0, count: 16384)
        var wanted: Int?
        while received.count < Self.maxRequestBytes {
            if wanted == nil, let end = received.firstRange(of: separator) {
                wanted =
                    end.upperBound + Self.contentLength(String(decoding: received[..<end.lowerBound], as: UTF8.self))
            }
            if let wanted, received.count >= wanted { break }
            let count = recv(connection, &chunk, chunk.count, 0)
            guard count > 0 else { break }
            received += chunk[0..<count]
        }
        guard let line = received.firstRange(of: separator[0..<2]).map({ received[..<$0.lowerBound] }) else {
            return nil
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// The `Content-Length` in `head`, 0 when it has none.
    private static func contentLength(_ head: String) -> Int {
        for line in head.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" {
                return Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        return 0
    }
}
