import Foundation
import RedisQueue

/// `--broker redis://...`: the Redis server async endpoints queue on, as llm-engine's gateway
/// does, so workers on other machines, Swift or Python Celery, can serve the same endpoint.
struct RedisBroker: Sendable {
    /// The broker URL as given (workers get it with their queue's name).
    let url: String
    /// The gateway's connection.
    let client: RedisClient

    /// Checks the URL and makes the (lazily connecting) client.
    ///
    /// - Throws: ``RedisAddressError`` naming what is wrong with the URL or its TLS files.
    init(url: String) throws(RedisAddressError) {
        self.url = url
        client = RedisClient(endpoint: try RedisEndpoint(RedisAddress(url: url)))
    }

    /// The broker URL with `?queue=name`, for a worker's `--queue`.
    func workerURL(queue name: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        var items = (components.queryItems ?? []).filter { $0.name != "queue" }
        items.append(URLQueryItem(name: "queue", value: name))
        components.queryItems = items
        return components.string ?? url
    }
}
