import Foundation
import Hummingbird
import Logging

/// The Launch API's routes, as the scale-launch 0.3.3 client calls them (no version prefix),
/// and what they share: the state database, the endpoints, the bundle folders and the key
/// check. Each concern's routes are in an extension of their own.
struct GatewayRoutes: Sendable {
    let database: StateDatabase
    let fleet: EndpointFleet
    let batchJobs: BatchJobFleet
    let folders: BundleFolders
    let forwarding: SyncForwarding
    let authentication: APIKeyAuthentication
    let results: URL
    let metrics: GatewayMetrics
    let logger: Logger

    /// The router with every route.
    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        addBundleRoutes(to: router)
        addEndpointRoutes(to: router)
        addTaskRoutes(to: router)
        addBatchRoutes(to: router)
        addOperatorRoutes(to: router)
        return router
    }

    /// Adds a route whose work needs the caller's owner (its API key's hash), answering a
    /// refusal (401 without a key) as JSON, and counting its answers.
    func route(
        _ router: Router<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: String,
        _ work: @escaping @Sendable (Request, BasicRequestContext, String) async throws -> Response
    ) {
        let label = "\(method) /\(path)"
        router.on(RouterPath(path), method: method) { request, context in
            let response = await JSONAnswer.answering {
                let owner = try authentication.owner(of: request.headers)
                return try await work(request, context, owner)
            }
            metrics.answered(route: label, code: response.status.code)
            return response
        }
    }

    /// The path parameter `name`, which the router always has for its own routes.
    static func parameter(_ name: String, _ context: BasicRequestContext) throws -> String {
        guard let value = context.parameters.get(name) else {
            throw GatewayRefusal(.badRequest, "the path has no \(name)")
        }
        return value
    }
}
