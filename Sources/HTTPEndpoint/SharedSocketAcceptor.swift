import CLinux
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Accepts connections on a listening socket that other processes accept on too (a process
/// pool's), on a thread of its own, and hands each one on as a connected descriptor.
///
/// NIO's server channel takes every wake-up on its socket for a connection of its own, which a
/// socket shared with other processes breaks (another process may take it first). This waits in
/// `poll` and accepts without blocking, so a connection another process took is no error, and
/// it looks at the stop request at least every ``pollInterval``.
///
/// It accepts as `readiness` says: never while the worker is not ready (a process still loading
/// its bundle, with every slot stuck, or draining leaves connections to the others rather than
/// answering 503), and, while every slot is busy or it holds as many connections as slots, only
/// once its siblings had ``deferral`` to take the connection first, longer the more connections
/// it holds beyond its slots (so work and kept-alive connections go where a slot is free and
/// spread over the processes, yet `/healthz` is answered when every process is busy).
/// `accepted` counts each connection as it is taken, so the next look at `readiness` sees it
/// even when a burst of connections is waiting.
final class SharedSocketAcceptor: Sendable {
    /// How long a wait for a connection lasts before the stop request is checked again.
    static let pollInterval: Int32 = 100
    /// How long a process with every slot busy leaves a waiting connection to the others, per
    /// connection it holds beyond its slots.
    static let deferral: UInt32 = 10_000
    /// The most deferrals a connection waits.
    static let maxDeferrals = 10

    /// Whether to accept a connection now.
    enum Readiness: Equatable {
        /// Ready, with a free slot.
        case now
        /// Ready, but busy, holding `excess` connections beyond its slots (at least 1): after
        /// ``deferral`` times that (at most ``maxDeferrals``), if nobody else took it.
        case deferred(excess: Int)
        /// Not ready.
        case no
    }

    private let descriptor: Int32
    private let readiness: @Sendable () -> Readiness
    private let accepted: @Sendable () -> Void
    private let stopped = Atomic(false)

    /// An acceptor on `descriptor` (listening, non-blocking) that takes connections as
    /// `readiness` says, telling `accepted` of each one.
    init(
        descriptor: Int32, readiness: @escaping @Sendable () -> Readiness, accepted: @escaping @Sendable () -> Void
    ) {
        self.descriptor = descriptor
        self.readiness = readiness
        self.accepted = accepted
    }

    /// Starts accepting; `stream` ends once ``stop()`` was called.
    func start() -> AsyncStream<Int32> {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        Thread { [self] in
            clinux_name_this_thread("http-acceptor")
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            while !stopped.load(ordering: .relaxed) {
                guard readiness() != .no else {
                    usleep(UInt32(Self.pollInterval) * 1000)
                    continue
                }
                guard poll(&waiting, 1, Self.pollInterval) > 0 else { continue }
                // Looked at again: it may have changed during the wait.
                switch readiness() {
                case .no: continue
                case .deferred(let excess):
                    usleep(Self.deferral * UInt32(min(max(excess, 1), Self.maxDeferrals)))
                    guard readiness() != .no else { continue }
                case .now: break
                }
                let connection = accept(descriptor, nil, nil)
                // EAGAIN: another process took it; a connection reset while queued ends that
                // attempt only; out of descriptors or memory, it waits (never spins) and retries.
                guard connection >= 0 else {
                    if [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(errno) { usleep(UInt32(Self.pollInterval) * 1000) }
                    continue
                }
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                accepted()
                continuation.yield(connection)
            }
            continuation.finish()
        }.start()
        return stream
    }

    /// Stops accepting: connections arriving from now on are left to the other processes.
    func stop() {
        stopped.store(true, ordering: .relaxed)
    }
}
