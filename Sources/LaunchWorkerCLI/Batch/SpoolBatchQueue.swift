import BatchJobs
import Foundation
import SpoolQueue
import WorkerCore

/// A batch's tasks in a spool folder (`batch --queue spool:DIR`), served by `serve --queue
/// spool:DIR` workers on this machine or any that mounts the folder.
struct SpoolBatchQueue: BatchQueue {
    let producer: SpoolProducer

    /// The spool at `layout`, its folders made when missing.
    ///
    /// - Throws: ``CLIError`` when they cannot be made.
    init(_ layout: SpoolLayout) throws(CLIError) {
        do {
            producer = try SpoolProducer(layout: layout)
        } catch {
            throw CLIError(message: "--queue spool:\(layout.root.path): \(error.description)")
        }
    }

    func submit(_ request: PredictRequest, id: String) throws(BatchQueueError) {
        do {
            try producer.submit(request.body, id: id)
        } catch {
            // An earlier run that died before it remembered submitting the task.
            if producer.status(of: id).status != .undefined { return }
            throw BatchQueueError(error.description)
        }
    }

    func responses(_ ids: [String]) -> [String: TaskResponse] {
        var answered: [String: TaskResponse] = [:]
        for id in ids {
            guard let response = producer.response(id) else { continue }
            answered[id] = TaskResponse(
                status: response.status, result: response.result, resultURL: response.resultURL,
                traceback: response.traceback)
        }
        return answered
    }
}
