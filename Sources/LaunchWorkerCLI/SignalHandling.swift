import Dispatch
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The worker's signals: the first SIGTERM or SIGINT starts a graceful shutdown, a second one
/// exits at once (claims left behind return on the next start); SIGUSR1 logs the metrics; SIGHUP
/// runs `reload` where one is given (a pool's rolling restart), and is left as it is otherwise.
/// Signals are handled while the value is alive.
final class SignalHandling {
    private let sources: [any DispatchSourceSignal]

    /// Starts handling signals; `shutdown` runs on the first SIGTERM or SIGINT, `exiting` (with
    /// the signal) on the second, just before the process exits, `snapshot` on each SIGUSR1 and
    /// `reload` on each SIGHUP; `exitingNow` is what the log says when a second signal ends the
    /// process.
    init(
        logger: Logger, exitingNow: String = "exiting now; claims return on the next start",
        shutdown: @escaping @Sendable () -> Void, exiting: @escaping @Sendable (Int32) -> Void = { _ in },
        snapshot: @escaping @Sendable () -> Void, reload: (@Sendable () -> Void)? = nil
    ) {
        let received = SignalCount()
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if received.increment() == 1 {
                    // Logged once it has begun, so that a reader of the log may count on it.
                    shutdown()
                    logger.notice("signal \(number): shutting down gracefully (send it again to exit at once)")
                } else {
                    logger.warning("signal \(number) again: \(exitingNow)")
                    exiting(number)
                    _exit(128 + number)
                }
            }
            source.resume()
            sources.append(source)
        }
        signal(SIGUSR1, SIG_IGN)
        let usr1 = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
        usr1.setEventHandler(handler: snapshot)
        usr1.resume()
        sources.append(usr1)
        if let reload {
            signal(SIGHUP, SIG_IGN)
            let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
            hup.setEventHandler(handler: reload)
            hup.resume()
            sources.append(hup)
        }
        self.sources = sources
    }

    deinit {
        sources.forEach { $0.cancel() }
    }
}

private final class SignalCount: Sendable {
    private let count = Mutex(0)
    func increment() -> Int {
        count.withLock {
            $0 += 1; return $0
        }
    }
}
