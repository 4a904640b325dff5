import Foundation

/// A Redis client that reconnects: each call uses the open connection, or makes one, waiting
/// between failed attempts (50 ms, doubling to 2 s), so a broker restart costs only the calls
/// in flight at that moment, which fail with ``RedisClientError/connection(_:)``.
///
/// Blocking commands (`BLMOVE`) hold their connection: give them a client of their own.
public actor RedisClient {
    private let endpoint: RedisEndpoint
    private let connectTimeout: Duration
    private var connection: RedisConnection?
    private var connecting: Task<RedisConnection, any Error>?
    private var failures = 0

    /// A client for `endpoint`; it connects on first use.
    public init(endpoint: RedisEndpoint, connectTimeout: Duration = .seconds(5)) {
        self.endpoint = endpoint
        self.connectTimeout = connectTimeout
    }

    /// Sends `commands` pipelined and returns their replies in order; error replies are returned,
    /// not thrown.
    ///
    /// - Throws: ``RedisClientError/connection(_:)`` when the server cannot be reached or the
    ///   connection broke before every reply came (the commands may or may not have run).
    public func send(_ commands: [RedisCommand]) async throws(RedisClientError) -> [RESPValue] {
        let connection = try await open()
        do {
            return try await connection.send(commands)
        } catch {
            if self.connection === connection { self.connection = nil }
            connection.close()
            throw error
        }
    }

    /// Sends one command and returns its reply.
    ///
    /// - Throws: ``RedisClientError/server(_:)`` for an error reply, and what ``send(_:)`` throws.
    @discardableResult
    public func run(_ command: RedisCommand) async throws(RedisClientError) -> RESPValue {
        let reply = try await send([command])[0]
        if let message = reply.errorMessage { throw .server("\(command.name): \(message)") }
        return reply
    }

    /// Closes the connection (a later call opens a new one).
    public func close() {
        connection?.close()
        connection = nil
    }

    private func open() async throws(RedisClientError) -> RedisConnection {
        if let connection, connection.isActive { return connection }
        connection = nil
        let task: Task<RedisConnection, any Error>
        if let connecting {
            task = connecting
        } else {
            let (endpoint, timeout, failures) = (endpoint, connectTimeout, failures)
            task = Task {
                if failures > 0 {
                    try await Task.sleep(for: .milliseconds(min(2000, 50 << min(failures - 1, 6))))
                }
                return try await RedisConnection.connect(to: endpoint, timeout: timeout)
            }
            connecting = task
        }
        do {
            let opened = try await task.value
            if connecting == task {
                connecting = nil
                connection = opened
                failures = 0
            }
            return opened
        } catch {
            if connecting == task {
                connecting = nil
                failures += 1
            }
            if let error = error as? RedisClientError { throw error }
            throw .connection("\(error)")
        }
    }
}

/// Why a Redis call failed.
public enum RedisClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server could not be reached or the connection broke: worth retrying.
    case connection(String)
    /// TLS failed (the certificate, the host name, a client certificate the server wants): why,
    /// and what to change. Retried too, in case the server's certificate is fixed meanwhile.
    case tls(String)
    /// The server answered with an error.
    case server(String)

    public var description: String {
        switch self {
        case .connection(let reason): "Redis connection: \(reason)"
        case .tls(let reason): "Redis TLS: \(reason)"
        case .server(let reason): "Redis error: \(reason)"
        }
    }

    /// Whether the call may succeed if tried again after a reconnect.
    public var isConnectionError: Bool {
        switch self {
        case .connection, .tls: true
        case .server: false
        }
    }
}
