import ArgumentParser
import Foundation
import RedisQueue
import SpoolQueue
import URLRedaction

/// Where tasks come from, as `--queue` names it: `spool:DIR` or `redis://HOST:PORT/DB?queue=NAME`.
///
/// Commands take `--queue` as text and check it with ``parse(_:)`` in their `validate()`, not as
/// an option ArgumentParser parses: ArgumentParser repeats a value it cannot read in its error,
/// and a Redis URL may hold a password.
enum QueueAddress: CustomStringConvertible {
    /// A spool folder (docs/spool-protocol.md).
    case spool(SpoolLayout)
    /// A Celery queue on a Redis broker (docs/redis-protocol.md).
    case redis(RedisAddress)

    /// The address `--queue`'s text names, once `validate()` has checked it with ``parse(_:)``;
    /// nil when no `--queue` was given.
    init?(checked text: String?) {
        guard let text, let address = try? Self.parse(text) else { return nil }
        self = address
    }

    /// Parses a queue address, saying what is wrong with a bad one (with any password hidden).
    static func parse(_ argument: String) throws(ValidationError) -> QueueAddress {
        if argument.lowercased().hasPrefix("redis://") || argument.lowercased().hasPrefix("rediss://") {
            do {
                return .redis(try RedisAddress(url: argument))
            } catch {
                throw ValidationError("--queue \(error.description)")
            }
        }
        guard argument.hasPrefix("spool:"), argument.count > "spool:".count else {
            throw ValidationError(
                "--queue \(URLSecrets.hidden(in: argument)): expected spool:DIR or redis://HOST:PORT/DB?queue=NAME")
        }
        return .spool(SpoolLayout(root: URL(filePath: String(argument.dropFirst("spool:".count)))))
    }

    var description: String {
        switch self {
        case .spool(let layout): "spool:\(layout.root.path)"
        case .redis(let address): address.description
        }
    }

    /// The spool's layout; a Redis queue has none (its producers and results are Celery's).
    var spool: SpoolLayout {
        get throws(SpoolError) {
            switch self {
            case .spool(let layout): layout
            case .redis:
                throw SpoolError(
                    "a Redis queue is Celery's: send tasks with celery's send_task and read results with AsyncResult")
            }
        }
    }

    /// The spool's layout, when the queue is a spool.
    var spoolLayout: SpoolLayout? {
        if case .spool(let layout) = self { return layout }
        return nil
    }

    /// The Redis broker and queue, when the queue is one.
    var redis: RedisAddress? {
        if case .redis(let address) = self { return address }
        return nil
    }
}
