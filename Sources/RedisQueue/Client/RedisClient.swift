import Foundation
import Synchronization

/// A Redis client that reconnects: each call uses the open connection, or makes one, waiting
/// between failed attempts (50 ms, doubling to 2 s), so a broker restart costs only the calls
/// in flight at that moment, which fail with ``RedisClientError/connection(_:)``.
///
/// A lock, not an actor, guards the connection: a call on an open connection goes from the
/// caller's thread straight to NIO's event loop, without a hop through an actor's executor.
/// Blocking commands (`BLMOVE`) hold their connection: give them a client of their own.
public final class RedisClient: Sendable {
    private struct State {
        var connection: RedisConnection?
        var connecting: Task<RedisConnection, any Error>?
        var failures = 0
    }

    private let endpoint: RedisEndpoint
    private let connectTimeout: Duration
    private let state = Mutex(State())

    private enum Opening {
        case open(RedisConnection)
        case connecting(Task<RedisConnection, any Error>)
    }

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
            state.withLock { state in
                if state.connection === connection { state.connection = nil }
            }
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
        let connection = state.withLock { state in
            defer { state.connection = nil }
            return state.connection
        }
        connection?.close()
    }

    /// The open connection, or the one being made (started here when none is).
    private func open() async throws(RedisClientError) -> RedisConnection {
        let opening = state.withLock { state -> Opening in
            if let connection = state.connection, connection.isActive { return .open(connection) }
            state.connection = nil
            if let connecting = state.connecting { return .connecting(connecting) }
            let (endpoint, timeout, failures) = (endpoint, connectTimeout, state.failures)
            let connecting = Task {
                if failures > 0 {
                    try await Task.sleep(for: .milliseconds(min(2000, 50 << min(failures - 1, 6))))
                }
                return try await RedisConnection.connect(to: endpoint, timeout: timeout)
            }
            state.connecting = connecting
            return .connecting(connecting)
        }
        let connecting: Task<RedisConnection, any Error>
        switch opening {
        case .open(let connection): return connection
        case .connecting(let task): connecting = task
        }
        do {
            let opened = try await connecting.value
            state.withLock { state in
                guard state.connecting == connecting else { return }
                state.connecting = nil
                state.connection = opened
                state.failures = 0
            }
            return opened
        } catch {
            state.withLock { state in
                guard state.connecting == connecting else { return }
                state.connecting = nil
                state.failures += 1
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
