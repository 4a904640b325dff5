import ArgumentParser
import Foundation
import SpoolQueue
import WorkerCore

/// `launch-worker submit`: queue a task in a spool, optionally waiting for its response.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Queue a task in a spool and print its task id (or, with --wait, its response).",
        discussion: """
            Examples:
              launch-worker submit --queue spool:/tmp/spool --args '{"x": 1, "y": 2}'
              launch-worker submit --queue spool:/tmp/spool --request @request.json --wait --timeout 60
            """
    )

    @Option(help: ArgumentHelp("The spool to queue into: spool:DIR.", valueName: "spool:DIR"))
    var queue: String

    @OptionGroup var requestOptions: RequestOptions

    @Option(help: "The task's id (default: a new random id).")
    var taskID: String?

    @Flag(help: "Wait for the response and print it; exit 0 on SUCCESS, 1 on FAILURE.")
    var wait = false

    @Option(help: ArgumentHelp("With --wait, give up after this long (exit 1).", valueName: "SECONDS"))
    var timeout: Double?

    func validate() throws {
        _ = try QueueAddress.parse(queue)
    }

    func run() async throws {
        let body = try requestOptions.body()
        let id = taskID ?? UUID().uuidString.lowercased()
        let producer: SpoolProducer
        do {
            producer = try SpoolProducer(layout: QueueAddress.parse(queue).spool)
            try producer.submit(body, id: id)
        } catch {
            throw CLIError(message: "\(error)")
        }
        guard wait else {
            print(id)
            return
        }
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + .seconds($0) }
        var pause = Duration.milliseconds(1)
        while true {
            let response = producer.status(of: id)
            if response.status == .success || response.status == .failure {
                FileHandle.standardOutput.write(response.jsonData() + Data("\n".utf8))
                if response.status == .failure { throw ExitCode.failure }
                return
            }
            if let deadline, clock.now >= deadline {
                throw CLIError(
                    message: "task \(id) is still \(response.status.rawValue) after \(timeout ?? 0) s", status: 1)
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(100))
        }
    }
}
