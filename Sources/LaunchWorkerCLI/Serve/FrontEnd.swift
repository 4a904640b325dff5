import HTTPEndpoint
import Logging
import ServiceLifecycle
import WorkerCore

/// A way tasks reach `serve`'s worker (a queue, the HTTP endpoint), all run through its one
/// ``TaskRunner`` on the shared slots. ``WorkerService`` holds a list of them: a new way in is a
/// new conformance, not a new case in the worker.
protocol FrontEnd: Sendable {
    /// Readies the front end before the bundle loads, so what can fail fast fails at once (a
    /// broker's address, password or certificates), and returns how it starts serving once the
    /// bundle has loaded.
    func prepare() async throws(CLIError) -> StartServing

    /// What the slots wait on for this front end besides the bundle's calls.
    var slotsWait: PythonSlot.Waits { get }
}

extension FrontEnd {
    var slotsWait: PythonSlot.Waits { .calls }
}

/// Starts a front end serving through the task runner; returns the services to run beside the
/// runner (none for a front end that runs on its own, as the HTTP server does).
typealias StartServing = @Sendable (TaskRunner) throws(CLIError) -> [ServiceGroupConfiguration.ServiceConfiguration]

/// A queue's serving loop: the queue, made once the bundle has loaded, and a ``QueueWorker``
/// that claims from it while a slot is free, reading its tasks' inputs as `inputs` allows.
struct QueueFrontEnd: FrontEnd {
    let queue: QueueSource
    let inputs: InputPolicy
    let loop: QueueWorker.Configuration
    let logger: Logger

    var slotsWait: PythonSlot.Waits { queue.slotsWait }

    func prepare() async throws(CLIError) -> StartServing {
        let open = try await queue.prepare(logger: logger)
        return { [inputs, loop, logger] runner throws(CLIError) in
            let queue = try open()
            let worker = QueueWorker(queue: queue, runner: runner, inputs: inputs, configuration: loop, logger: logger)
            return [
                .init(service: queue), .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
            ]
        }
    }
}

/// The HTTP endpoint, which listens before the bundle loads (so `/healthz` answers meanwhile) and
/// runs as a service of `serve`'s own; it answers `/predict` once it has the runner, reading
/// requests' inputs as `inputs` allows.
struct HTTPFrontEnd: FrontEnd {
    let server: HTTPServer
    let inputs: InputPolicy

    func prepare() async throws(CLIError) -> StartServing {
        { [server, inputs] runner throws(CLIError) in
            server.attach(runner, inputs: inputs)
            return []
        }
    }
}
