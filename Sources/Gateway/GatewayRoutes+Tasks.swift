import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import SpoolQueue

/// `POST /task_sync/{endpoint}`, `POST /task_async/{endpoint}`, `GET /task/result/{id}`,
/// `GET /endpoints/{endpoint}/task_async/{id}`, and `GET /results/{file}` for pickled results.
extension GatewayRoutes {
    func addTaskRoutes(to router: Router<BasicRequestContext>) {
        // The requests SyncInterceptor cannot forward at once: refusals, and a wait for an
        // endpoint's first ready worker.
        route(router, .post, "task_sync/:endpoint") { request, context, owner in
            let runner = try await runner(try Self.parameter("endpoint", context), owner: owner)
            guard runner.kind == .sync else {
                throw GatewayRefusal(.badRequest, "this endpoint is async: use task_async (AsyncEndpoint.predict)")
            }
            var request = request
            let body = try await request.collectBody(upTo: SyncForwarding.maxBodyBytes)
            let lease = try await runner.waitForWorker()
            let result: Result<UpstreamAnswer, any Error>
            do {
                result = .success(
                    try await forwarding.forward(
                        body, via: runner.dispatch, lease: lease, on: MultiThreadedEventLoopGroup.singleton.any()
                    ).get())
            } catch {
                result = .failure(error)
            }
            let answer = forwarding.answer(
                result, route: SyncRoutes.Route(endpointID: runner.id, dispatch: runner.dispatch), head: request.head)
            return Response(
                status: answer.status, headers: answer.headerFields,
                body: .init(byteBuffer: answer.body))
        }
        route(router, .post, "task_async/:endpoint") { request, context, owner in
            let runner = try await runner(try Self.parameter("endpoint", context), owner: owner)
            let record = await runner.record
            guard record.kind == .async else {
                throw GatewayRefusal(.badRequest, "this endpoint is sync: use task_sync (SyncEndpoint.predict)")
            }
            var request = request
            let body = try await request.collectBody(upTo: 100 << 20)
            let id = UUID().uuidString.lowercased()
            try await database.insertTask(id, owner: owner, endpointID: record.id)
            do {
                try await runner.queue?.submit(Array(body.readableBytesView), id: id)
            } catch {
                try? await database.deleteTask(id)
                throw error
            }
            metrics.task(endpoint: record.id, state: "QUEUED")
            logger.info("task queued", metadata: ["endpoint_id": "\(record.id)", "task_id": "\(id)"])
            return JSONAnswer.response(["task_id": id])
        }
        route(router, .get, "task/result/:id") { request, context, owner in
            let id = try Self.parameter("id", context)
            return JSONAnswer.response(try await asyncAnswer(id, endpointName: nil, owner: owner, request: request))
        }
        route(router, .get, "endpoints/:name/task_async/:id") { request, context, owner in
            let (endpoint, id) = (try Self.parameter("name", context), try Self.parameter("id", context))
            return JSONAnswer.response(
                try await asyncAnswer(id, endpointName: endpoint, owner: owner, request: request))
        }
        // A pickled result: its URL holds the random task id, as a presigned URL holds its
        // signature, so the user opens it without the key.
        router.get("results/:file") { _, context in
            await JSONAnswer.answering {
                let name = try Self.parameter("file", context)
                let file = results.appending(path: name)
                guard ResultFiles.isValidName(name), let data = FileManager.default.contents(atPath: file.path) else {
                    throw GatewayRefusal.notFound("result \(name)")
                }
                return Response(
                    status: .ok, headers: [.contentType: "application/octet-stream"],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
            }
        }
    }

    /// Task `id`'s answer, when `owner` queued it (on the endpoint named, if one is).
    private func asyncAnswer(_ id: String, endpointName: String?, owner: String, request: Request) async throws
        -> [String: Any]
    {
        guard SpoolLayout.isValidTaskID(id), let endpointID = try await database.taskEndpoint(id, owner: owner),
            let runner = await fleet.runner(id: endpointID)
        else { throw GatewayRefusal.notFound("task \(id)") }
        if let endpointName, await runner.record.name != endpointName { throw GatewayRefusal.notFound("task \(id)") }
        guard let queue = runner.queue else { throw GatewayRefusal.notFound("task \(id)") }
        return answers(request).async(try await queue.outcome(of: id), id: id)
    }

    /// Answers whose result URLs lead back to this gateway, by the host the client used.
    private func answers(_ request: Request) -> TaskAnswer {
        TaskAnswer(results: results, baseURL: "http://\(request.head.authority ?? "127.0.0.1")")
    }
}
