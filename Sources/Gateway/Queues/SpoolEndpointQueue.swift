import Foundation
import SpoolQueue

/// An async endpoint's spool, `STATE/spools/<id>/` (docs/spool-protocol.md): tasks are queued
/// durably before their id is answered.
struct SpoolEndpointQueue: EndpointQueue {
    let root: URL
    let files: EndpointFiles

    var workerArguments: [String] { ["--queue", "spool:\(root.path)"] }

    func submit(_ body: [UInt8], id: String) async throws(GatewayRefusal) {
        do {
            try SpoolProducer(layout: SpoolLayout(root: root)).submit(body, id: id)
        } catch {
            throw GatewayRefusal(.internalServerError, "the task could not be queued: \(error)")
        }
    }

    func outcome(of id: String) async throws(GatewayRefusal) -> TaskOutcome {
        let producer: SpoolProducer
        do {
            producer = try SpoolProducer(layout: SpoolLayout(root: root))
        } catch {
            throw GatewayRefusal(.internalServerError, "the endpoint's spool cannot be read: \(error)")
        }
        let response = producer.status(of: id)
        return TaskOutcome(
            status: response.status, result: response.result, resultURL: response.resultURL,
            traceback: response.traceback)
    }

    func load() async -> Int {
        files.spoolLoad()
    }
}
