import Foundation
import Hummingbird
import NIOCore

/// `GET /healthz`, `GET /metrics` (Prometheus text, every key's endpoints by id) and
/// `GET /status` (the caller's endpoints with their workers' process ids and their load).
extension GatewayRoutes {
    func addOperatorRoutes(to router: Router<BasicRequestContext>) {
        router.get("healthz") { _, _ in JSONAnswer.response(["detail": "alive"]) }
        route(router, .get, "metrics") { _, _, _ in
            var snapshots: [EndpointSnapshot] = []
            for runner in await fleet.allRunners() { snapshots.append(await runner.snapshot()) }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.text(endpoints: snapshots))))
        }
        route(router, .get, "status") { _, _, owner in
            var endpoints: [[String: Any]] = []
            for runner in await fleet.runners(owner: owner) { endpoints.append(await runner.snapshot().statusObject) }
            return JSONAnswer.response(["endpoints": endpoints])
        }
    }
}
