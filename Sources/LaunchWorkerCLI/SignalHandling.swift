import Dispatch
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The worker's signals: the first SIGTERM or SIGINT starts a graceful shutdown, a second one
/// exits at once (claims left behind return on the next start); SIGUSR1 logs the metrics.
/// Signals are handled while the value is alive.
final class SignalHandling {
    private let sources: [any DispatchSourceSignal]

    /// Starts handling signals; `shutdown` runs on the first SIGTERM or SIGINT, `snapshot` on
    /// each SIGUSR1; `exitingNow` is what the log says when a second signal ends the process.
    init(
        logger: Logger, exitingNow: String = "exiting now; claims return on the next start",
        shutdown: @escaping @Sendable () -> Void, snapshot: @escaping @Sendable () -> Void
    ) {
        let received = SignalCount()
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if received.increment() == 1 {
                    logger.notice("signal \(number): shutting down gracefully (send it again to exit at once)")
                    shutdown()
                } else {
                    logger.warning("signal \(number) again: \(exitingNow)")
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
