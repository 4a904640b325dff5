import Foundation
import RedisQueue
import URLRedaction
import WorkerCore

/// An async endpoint's Celery queue on the broker, `launch-endpoint-id-<id>`: tasks are
/// `LPUSH`ed as llm-engine's gateway queues them (``CeleryProducing``, with the arrival time),
/// and answers read from Celery's result backend (`celery-task-meta-<id>`), which the workers
/// write.
struct RedisEndpointQueue: EndpointQueue {
    let broker: RedisBroker
    /// The queue's name.
    let name: String

    var workerArguments: [String] { broker.workerArguments(queue: name) }

    func submit(_ body: [UInt8], id: String) async throws(GatewayRefusal) {
        let request = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        guard let request else { throw GatewayRefusal(.badRequest, "the request body must be a JSON object") }
        let message = CeleryProducing.envelope(
            taskID: id, request: body, returnPickled: request["return_pickled"] as? Bool ?? false, queue: name,
            arrival: Date())
        do {
            _ = try await broker.client.run(RedisCommand(bytes: [Array("LPUSH".utf8), Array(name.utf8), message]))
        } catch {
            throw GatewayRefusal(
                .serviceUnavailable, "the broker \(URLSecrets.hidden(in: broker.url)) did not take the task: \(error)")
        }
    }

    func outcome(of id: String) async throws(GatewayRefusal) -> TaskOutcome {
        let stored: RESPValue
        do {
            stored = try await broker.client.run(RedisCommand("GET", "celery-task-meta-\(id)"))
        } catch {
            throw GatewayRefusal(.serviceUnavailable, "the broker did not answer: \(error); try again")
        }
        guard let json = stored.bytes, let response = CeleryProducing.response(stored: json) else {
            return TaskOutcome(status: .pending, result: nil, resultURL: nil, traceback: nil)
        }
        return TaskOutcome(
            status: response.status, result: response.result, resultURL: response.resultURL,
            traceback: response.traceback)
    }

    /// The messages waiting in the queue (its priority lists included) and those its workers
    /// run (kombu's `unacked` entries routed to it).
    func load() async -> Int {
        let lists = [name] + ["\u{06}\u{16}3", "\u{06}\u{16}6", "\u{06}\u{16}9"].map { name + $0 }
        let commands = lists.map { RedisCommand("LLEN", $0) } + [RedisCommand("HVALS", "unacked")]
        guard let replies = try? await broker.client.send(commands) else { return 0 }
        let waiting = replies.dropLast().reduce(0) { $0 + Int($1.integer ?? 0) }
        // Each entry is `[envelope, exchange, routing_key]`.
        let running = (replies.last?.elements ?? []).count { entry in
            guard let text = entry.string,
                let delivery = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [Any]
            else { return false }
            return delivery.last as? String == name
        }
        return waiting + running
    }
}
