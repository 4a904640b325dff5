import ArgumentParser
import Foundation
import HTTPEndpoint
import RedisQueue
import SpoolQueue

/// `serve`'s options for the queue it serves, of any kind.
struct QueueOptions: ParsableArguments {
    @Option(
        name: .customLong("queue"),
        help: ArgumentHelp(
            "Serve tasks from a spool folder (docs/spool-protocol.md) or a Celery queue on Redis (docs/redis-protocol.md).",
            valueName: "spool:DIR|redis[s]://HOST:PORT/DB?queue=NAME"))
    var queueText: String?

    /// The queue `--queue` names.
    var queue: QueueAddress? { QueueAddress(checked: queueText) }

    @Flag(help: "Stop once the queue is empty and nothing is in flight (for batch jobs).")
    var exitWhenEmpty = false

    func validate() throws {
        if let queueText { _ = try QueueAddress.parse(queueText) }
        if exitWhenEmpty, queueText == nil { throw ValidationError("--exit-when-empty needs --queue") }
    }
}

/// `serve`'s options for a spool queue (`--queue spool:DIR`).
struct SpoolOptions: ParsableArguments {
    @Option(help: "How many times a task may be started before it goes to dead/ (a worker died each time).")
    var maxAttempts = 3

    @Option(
        help: ArgumentHelp(
            "How long a worker on another host may go silent before its claims are recovered.", valueName: "SECONDS"))
    var lease: Double = 30

    @Flag(inversion: .prefixedNo, help: "fsync responses and their folder (off: faster, not durable on power loss).")
    var fsync = true

    func validate() throws {
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
        guard lease > 0 else { throw ValidationError("--lease must be positive") }
    }

    /// The spool's settings.
    var configuration: SpoolQueue.Configuration {
        var configuration = SpoolQueue.Configuration()
        configuration.lease = .seconds(lease)
        configuration.maxAttempts = maxAttempts
        configuration.fsync = fsync
        return configuration
    }
}

/// `serve`'s options for the HTTP endpoint.
struct HTTPOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Serve Launch's sync endpoint: unix:/path/to.sock, HOST:PORT or PORT (host 127.0.0.1; port 0 picks one).",
            valueName: "ADDRESS"),
        transform: { text in
            guard let address = ListenAddress(text) else {
                throw ValidationError("--listen \(text): expected unix:PATH, HOST:PORT or PORT")
            }
            return address
        })
    var listen: ListenAddress?

    @Flag(help: "Allow --listen on an address other machines can reach (requires --auth-token-file).")
    var allowRemote = false

    @Option(
        help: ArgumentHelp(
            "A file holding the bearer token that /predict and /metrics require.", valueName: "FILE"))
    var authTokenFile: String?

    @Flag(help: "Answer 429 at once when every slot is busy, instead of waiting for one.")
    var failOnConcurrencyLimit = false

    @Option(help: "The largest request body accepted (413 above).")
    var maxBodyBytes = 100 << 20

    @Option(help: "How many requests may wait for a slot before more are answered 429.")
    var maxQueued = 1024

    @Option(
        help: ArgumentHelp(
            "How long a request head may take to arrive, from its first byte (or the connection's opening): 408, then closed.",
            valueName: "SECONDS"))
    var headerTimeout: Double = 10

    @Option(
        help: ArgumentHelp(
            "How long a request body may take to arrive, from its head: 408, then closed.", valueName: "SECONDS"))
    var bodyTimeout: Double = 60

    @Option(
        help: ArgumentHelp(
            "How long a kept-alive connection may wait for its next request before it is closed.",
            valueName: "SECONDS"))
    var idleTimeout: Double = 75

    func validate() throws {
        guard headerTimeout > 0, bodyTimeout > 0, idleTimeout > 0 else {
            throw ValidationError("--header-timeout, --body-timeout and --idle-timeout must be positive")
        }
        guard let listen else { return }
        if !listen.isLocalOnly {
            guard allowRemote else {
                throw ValidationError("--listen \(listen) is reachable from other machines: add --allow-remote")
            }
            guard authTokenFile != nil else {
                throw ValidationError("--listen \(listen) with --allow-remote requires --auth-token-file")
            }
        }
        guard maxBodyBytes > 0, maxQueued >= 0 else {
            throw ValidationError("--max-body-bytes must be positive and --max-queued not negative")
        }
    }

    /// The endpoint's settings, reading the token file.
    func configuration(address: ListenAddress) throws(CLIError) -> HTTPServer.Configuration {
        var configuration = HTTPServer.Configuration(address: address)
        configuration.failOnConcurrencyLimit = failOnConcurrencyLimit
        configuration.maxBodyBytes = maxBodyBytes
        configuration.maxQueuedRequests = maxQueued
        configuration.headerTimeout = .seconds(headerTimeout)
        configuration.bodyTimeout = .seconds(bodyTimeout)
        configuration.idleTimeout = .seconds(idleTimeout)
        do {
            configuration.token = try authTokenFile.map { file throws(HTTPEndpointError) in try BearerToken(file: file)
            }
        } catch {
            throw CLIError(message: error.description)
        }
        return configuration
    }
}

/// `serve`'s options for a Celery queue on Redis (`--queue redis://...`).
struct RedisOptions: ParsableArguments {
    @OptionGroup var secretFiles: RedisSecretFiles

    @Option(
        help: ArgumentHelp(
            "How long a task may go without its worker's heartbeat before any worker restores it (kombu's visibility_timeout).",
            valueName: "SECONDS"))
    var visibilityTimeout: Double = 3600

    @Option(
        help: ArgumentHelp(
            "How long results are kept in Redis (Celery's result_expires; 0: forever).", valueName: "SECONDS"))
    var resultExpires = 86_400

    @Flag(help: "Store a STARTED state when a task starts (Celery's task_track_started).")
    var trackStarted = false

    func validate() throws {
        guard visibilityTimeout > 0 else { throw ValidationError("--visibility-timeout must be positive") }
        guard resultExpires >= 0 else { throw ValidationError("--result-expires must not be negative") }
    }

    /// The broker with the password file and the TLS files read, and the queue's settings.
    func plan(_ address: RedisAddress) throws(CLIError) -> (
        endpoint: RedisEndpoint, configuration: RedisTaskQueue.Configuration
    ) {
        let endpoint = try secretFiles.endpoint(address)
        var configuration = RedisTaskQueue.Configuration()
        configuration.visibilityTimeout = .milliseconds(Int64(visibilityTimeout * 1000))
        configuration.resultExpires = resultExpires
        configuration.trackStarted = trackStarted
        return (endpoint, configuration)
    }
}
