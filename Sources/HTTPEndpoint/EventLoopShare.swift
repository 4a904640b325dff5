import Foundation
import NIOCore

/// How many threads run NIO's event loops in a worker process: half of the process's share of the
/// cores, at least one. They serve its HTTP connections and, through NIO's singleton group, its
/// Redis connection and downloads.
///
/// A worker's Python work runs on one slot thread at a time (the GIL), and that thread wants a
/// core of its own. With an event loop on every core as well (NIO's default), the loops and the
/// slot thread took turns on the same cores and woke one another across them. On two cores, with
/// wrk's 8 connections beside the worker, one loop instead of two answered a trivial predict at
/// 33,300 req/s and 42.6 µs of CPU a request against 29,500 req/s and 50.7 µs (4 alternating
/// rounds; per_worker 20: 32,100 against 28,500). Only a server with no Python to run wants every
/// core: the 400 answered before any Python runs went from about 44,000 to 38,000 req/s.
///
/// `NIO_SINGLETON_GROUP_LOOP_COUNT`, when set, wins.
public enum EventLoopShare {
    /// The environment variable NIO reads for its singleton group's size.
    public static let overrideVariable = "NIO_SINGLETON_GROUP_LOOP_COUNT"

    /// The event loops of one process among `processes` sharing `cores`.
    public static func loops(cores: Int, processes: Int) -> Int {
        max(1, cores / (2 * max(1, processes)))
    }

    /// Sizes NIO's singleton event-loop group for one process among `processes` on this machine,
    /// unless the environment sizes it, and returns its size. Call it once, before anything uses
    /// NIO's singletons (a second call crashes; a call after the group exists changes nothing).
    public static func apply(processes: Int) -> Int {
        if ProcessInfo.processInfo.environment[overrideVariable] == nil {
            NIOSingletons.groupLoopCountSuggestion = loops(cores: System.coreCount, processes: processes)
        }
        return NIOSingletons.groupLoopCountSuggestion
    }
}
