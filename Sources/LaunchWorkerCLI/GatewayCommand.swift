import ArgumentParser
import Foundation
import Gateway
import HTTPEndpoint
import Logging
import RedisQueue
import ServiceLifecycle

/// `launch-worker gateway`: the Launch REST API that the scale-launch client speaks, with
/// endpoints whose workers are child `serve` processes.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Serve the Launch API (bundles, endpoints, sync and async tasks) for the scale-launch client.",
        discussion: """
            Point unchanged Launch code at it: LaunchClient(api_key="any", endpoint="http://127.0.0.1:5000", \
            self_hosted=True), with a bundle_location_fn returning a local path and an upload_bundle_fn \
            writing the bytes there. Each endpoint runs its workers as child launch-worker serve processes \
            (sync: on Unix sockets under the state folder; async: on a spool there), min_workers to \
            max_workers of them by the load. Everything is recorded in STATE-DIR/gateway.sqlite, so a \
            restarted gateway brings its endpoints back and answers the tasks queued before.

            SIGTERM or SIGINT stops listening and drains every worker.
            """)

    @Option(
        help: ArgumentHelp("HOST:PORT or PORT to listen on (port 0 picks one).", valueName: "HOST:PORT"),
        transform: { text in
            guard let address = ListenAddress(text), case .tcp = address else {
                throw ValidationError("--listen \(text): expected HOST:PORT or PORT")
            }
            return address
        })
    var listen = ListenAddress.tcp(host: "127.0.0.1", port: 5000)

    @Option(
        help: ArgumentHelp(
            "Where the database, bundles, spools, results and logs live (default: ~/.cache/launch-worker/gateway).",
            valueName: "DIR"))
    var stateDir: String?

    @Flag(help: "Allow --listen on an address other machines can reach (requires --api-keys-file).")
    var allowRemote = false

    @Option(help: ArgumentHelp("A file of the API keys allowed in, one a line.", valueName: "FILE"))
    var apiKeysFile: String?

    @Option(
        help: ArgumentHelp(
            "How long an endpoint's load must need fewer workers before one is stopped.", valueName: "SECONDS"))
    var scaleDownAfter: Double = 60

    @Option(
        help: ArgumentHelp(
            "Queue async endpoints' tasks on this Redis, as llm-engine does (queue launch-endpoint-id-<id>), not in spools.",
            valueName: "redis[s]://HOST:PORT/DB"))
    var broker: String?

    @OptionGroup var secretFiles: RedisSecretFiles

    @Option(
        help: ArgumentHelp(
            "How long async tasks' answers, pickled results, ended batch jobs and stopped workers' logs are kept.",
            valueName: "SECONDS"))
    var keepResults: Double = 86_400

    @Option(
        help: ArgumentHelp(
            "A worker's log (at info, a line for every task) is cut at this size, its earlier part kept as worker-<n>.log.1.",
            valueName: "SIZE"))
    var workerLogSize = ByteSize(16 << 20)

    @Option(
        help: ArgumentHelp(
            "The GPUs endpoints with gpus > 0 get, each worker its own (default: those nvidia-smi -L lists).",
            valueName: "LIST"))
    var devices: String?

    @Option(help: ArgumentHelp("A file written with 'listen HOST:PORT' once the gateway listens.", valueName: "PATH"))
    var readyFile: String?

    @Option(help: "Log level on stderr, and of the workers' logs (at info, a line for every task).")
    var logLevel: Logger.Level = .info

    func validate() throws {
        if !listen.isLocalOnly, !allowRemote || apiKeysFile == nil {
            throw ValidationError(
                "--listen \(listen) is reachable from other machines: add --allow-remote and --api-keys-file FILE")
        }
        guard scaleDownAfter >= 0 else { throw ValidationError("--scale-down-after must not be negative") }
        guard keepResults > 0 else { throw ValidationError("--keep-results must be above 0 seconds") }
        guard workerLogSize.bytes >= 1024 else { throw ValidationError("--worker-log-size must be at least 1K") }
        guard let broker else {
            guard !secretFiles.given else {
                throw ValidationError("--redis-password-file and --redis-ssl-password-file are for --broker")
            }
            return
        }
        let address: RedisAddress
        do {
            address = try RedisAddress(url: broker)
        } catch {
            throw ValidationError("--broker \(error)")
        }
        do {
            _ = try secretFiles.endpoint(address, option: "--broker")
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        let logger = stderrLogger(level: logLevel)
        let state =
            stateDir.map { URL(filePath: $0, relativeTo: .currentDirectory()).standardizedFileURL }
            ?? FileManager.default.homeDirectoryForCurrentUser.appending(path: ".cache/launch-worker/gateway")
        var configuration = GatewayServer.Configuration(
            address: listen, stateDirectory: state, executable: CommandLine.executablePath)
        configuration.apiKeys = try apiKeysFile.map(Self.readKeys)
        configuration.scaleDownCooldown = .seconds(scaleDownAfter)
        configuration.readyFile = readyFile.map { URL(filePath: $0) }
        configuration.broker = broker
        configuration.brokerPassword = try secretFiles.password()
        configuration.brokerKeyPassphrase = try secretFiles.keyPassphrase()
        configuration.keepResults = .seconds(keepResults)
        configuration.workerLogLimit = workerLogSize.bytes
        configuration.gpuDevices = gpuDevices(logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: GatewayServer(configuration: configuration, logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            throw CLIError(message: "the gateway stopped: \(error)", status: 1)
        }
    }

    /// The GPUs of `--devices`, else those `nvidia-smi -L` lists (none, logged, without it).
    private func gpuDevices(logger: Logger) -> [String] {
        if let devices {
            return devices.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        switch GPUDevices.listed() {
        case .success(let listed):
            logger.info("GPUs for endpoints", metadata: ["devices": "\(listed.joined(separator: ","))"])
            return listed
        case .failure(let error):
            logger.info("no GPUs for endpoints: \(error.message); name them with --devices")
            return []
        }
    }

    /// The keys in `path`, one a line (blank lines and `#` comments skipped).
    private static func readKeys(_ path: String) throws(CLIError) -> Set<String> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CLIError(message: "--api-keys-file \(path) cannot be read")
        }
        let keys = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !keys.isEmpty else { throw CLIError(message: "--api-keys-file \(path) holds no key") }
        return Set(keys)
    }
}
