import Foundation
import Prometheus
import Synchronization

/// The gateway's `/metrics`: requests by route and status code and tasks by endpoint and state
/// (counters), and, read at each scrape, every endpoint's workers (wanted, ready, starting) and
/// load (tasks waiting and running).
final class GatewayMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    /// Each counter made once: the registry's look-up checks names and help texts each time.
    private let counters = Mutex<[[String]: Counter]>([:])

    /// Counts an answer of `route` (its method and pattern, not the path: names stay out of the
    /// labels' count) with `code`.
    func answered(route: String, code: Int) {
        counter(
            "launch_gateway_requests", help: "Requests answered, by route and code.",
            labels: [("route", route), ("code", String(code))]
        ).increment()
    }

    /// Counts a task of endpoint `endpoint`: `QUEUED` (async), `SUCCESS` or `FAILURE` (sync).
    func task(endpoint: String, state: String) {
        counter(
            "launch_gateway_tasks", help: "Tasks by endpoint id and state: queued (async), answered (sync).",
            labels: [("endpoint_id", endpoint), ("state", state)]
        ).increment()
    }

    private func counter(_ name: String, help: String, labels: [(String, String)]) -> Counter {
        let key = [name] + labels.flatMap { [$0.0, $0.1] }
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: .init(metricName: name, unitName: "total", helpText: help), labels: labels)
            counters[key] = counter
            return counter
        }
    }

    /// The Prometheus text: the counters, then each endpoint's workers and load now.
    func text(endpoints: [EndpointSnapshot]) -> String {
        var text = registry.emitToString()
        text += "# HELP launch_gateway_workers An endpoint's workers, by state: wanted, ready, starting.\n"
        text += "# TYPE launch_gateway_workers gauge\n"
        for endpoint in endpoints {
            let id = endpoint.record.id
            text += "launch_gateway_workers{endpoint_id=\"\(id)\",state=\"wanted\"} \(endpoint.wantedWorkers)\n"
            text += "launch_gateway_workers{endpoint_id=\"\(id)\",state=\"ready\"} \(endpoint.readyWorkers)\n"
            text += "launch_gateway_workers{endpoint_id=\"\(id)\",state=\"starting\"} \(endpoint.otherWorkers)\n"
        }
        text +=
            "# HELP launch_gateway_load An endpoint's tasks waiting and running (async) or requests forwarded (sync).\n"
        text += "# TYPE launch_gateway_load gauge\n"
        for endpoint in endpoints {
            text += "launch_gateway_load{endpoint_id=\"\(endpoint.record.id)\"} \(endpoint.load)\n"
        }
        return text
    }
}
