import Foundation
import Hummingbird
import NIOCore

/// `POST /batch_job/{bundle}` (the client's `batch_async_request`), `GET /batch_job/{id}`
/// (`get_batch_async_response`), `PUT /batch_job/{id}` (cancel), `GET /batch_results/{id}` (the
/// results the job's `result` names) and a pickled job's pickles.
extension GatewayRoutes {
    func addBatchRoutes(to router: Router<BasicRequestContext>) {
        // One parameter name for both: the router keeps one name per place in a path.
        route(router, .post, "batch_job/:name") { request, context, owner in
            let bundleName = try Self.parameter("name", context)
            guard let bundle = try await database.bundle(bundleName, owner: owner) else {
                throw GatewayRefusal.notFound("bundle \(bundleName)")
            }
            let body = try await JSONAnswer.object(of: request)
            let format = (body["serialization_format"] as? String ?? "json").lowercased()
            guard format == "json" || format == "pickle" else {
                throw GatewayRefusal(.badRequest, "serialization_format must be json or pickle, not \(format)")
            }
            let csv = try Self.batchInput(body["input_path"])
            let (lines, total) = try LaunchBatchCSV.jsonLines(fromCSV: csv, returnPickled: format == "pickle")
            let perWorker = (body["max_workers"] as? Int).map { max($0, 1) } ?? 1
            let timeout = body["timeout_seconds"].flatMap { $0 is NSNull ? nil : $0 }
            guard timeout == nil || (timeout as? Double).map({ $0 > 0 }) == true else {
                throw GatewayRefusal(.badRequest, "timeout_seconds must be a number of seconds above 0")
            }
            let record = BatchJobRecord(
                id: UUID().uuidString.lowercased(), bundleName: bundle.name, bundleFolder: bundle.folder,
                pickled: format == "pickle", total: total, perWorker: perWorker,
                createdAt: Date().timeIntervalSince1970, timeoutSeconds: timeout as? Double)
            let files = batchJobs.files(record.id)
            do {
                try FileManager.default.createDirectory(at: files.folder, withIntermediateDirectories: true)
                try Data(lines.utf8).write(to: files.input, options: .atomic)
            } catch {
                throw GatewayRefusal(
                    .internalServerError, "cannot write the batch's input in \(files.folder.path): \(error)")
            }
            try await database.insert(record, owner: owner)
            await batchJobs.launch(record)
            logger.info("batch job created", metadata: ["batch_job": "\(record.id)", "inputs": "\(total)"])
            return JSONAnswer.response(["job_id": record.id])
        }
        route(router, .get, "batch_job/:name") { request, context, owner in
            let id = try Self.parameter("name", context)
            guard try await database.ownsBatchJob(id, owner: owner), let runner = await batchJobs.runner(id) else {
                throw GatewayRefusal.notFound("batch job \(id)")
            }
            let base = "http://\(request.head.authority ?? "127.0.0.1")"
            return JSONAnswer.response(bytes: await runner.answer(resultsURL: "\(base)/batch_results/\(id)"))
        }
        // Llm-engine's cancel (`PUT /v1/batch-jobs/{id}` with `{"cancel": true}`), on this API's
        // path: the batch stops, what it wrote stays, and the job reads CANCELLED.
        route(router, .put, "batch_job/:name") { request, context, owner in
            let id = try Self.parameter("name", context)
            guard try await database.ownsBatchJob(id, owner: owner), let runner = await batchJobs.runner(id) else {
                throw GatewayRefusal.notFound("batch job \(id)")
            }
            guard try await JSONAnswer.object(of: request)["cancel"] as? Bool == true else {
                throw GatewayRefusal(.badRequest, "give {\"cancel\": true} to cancel the batch job")
            }
            return JSONAnswer.response(["success": await runner.end(.cancelled)])
        }
        // As `/results/`: the random job id in the URL is its key. A pickled job's result_url
        // lines lead to the route below.
        router.get("batch_results/:name") { request, context in
            await JSONAnswer.answering {
                let id = try Self.parameter("name", context)
                guard UUID(uuidString: id) != nil, let runner = await batchJobs.runner(id),
                    let data = try? Data(contentsOf: runner.files.results)
                else {
                    throw GatewayRefusal.notFound("the results of batch job \(id)")
                }
                let base = "http://\(request.head.authority ?? "127.0.0.1")/batch_results/\(id)/results/"
                let lines = runner.record.pickled ? runner.files.servedPickleURLs(in: data, base: base) : data
                return Response(
                    status: .ok, headers: [.contentType: "application/x-ndjson"],
                    body: .init(byteBuffer: ByteBuffer(bytes: lines)))
            }
        }
        // A pickled result of a batch job: for its owner's key only.
        route(router, .get, "batch_results/:name/results/:file") { _, context, owner in
            let (id, name) = (try Self.parameter("name", context), try Self.parameter("file", context))
            guard try await database.ownsBatchJob(id, owner: owner), let runner = await batchJobs.runner(id),
                ResultFiles.isValidName(name),
                let data = FileManager.default.contents(atPath: runner.files.pickles.appending(path: name).path)
            else { throw GatewayRefusal.notFound("result \(name) of batch job \(id)") }
            return Response(
                status: .ok, headers: [.contentType: "application/octet-stream"],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    /// The text of the batch's input file: a local path or `file://` URL the client uploaded to.
    private static func batchInput(_ value: Any?) throws(GatewayRefusal) -> String {
        guard let location = value as? String, !location.isEmpty else {
            throw GatewayRefusal(.badRequest, "input_path is missing: give the path the batch's CSV was uploaded to")
        }
        let path = location.hasPrefix("file://") ? URL(string: location)?.path ?? location : location
        guard path.hasPrefix("/"), let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw GatewayRefusal(
                .badRequest,
                "input_path \(location) cannot be read: upload the batch's CSV to a local path or file:// URL "
                    + "(register_batch_csv_location_fn and register_upload_batch_csv_fn)")
        }
        return text
    }
}
