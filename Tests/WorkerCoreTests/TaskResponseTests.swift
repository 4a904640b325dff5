import Foundation
import Testing
import WorkerCore

@Suite("Responses in Launch's shape")
struct TaskResponseTests {
    private func json(_ response: TaskResponse) -> String {
        String(decoding: response.jsonData(), as: UTF8.self)
    }

    @Test("success, pickled success and failure")
    func shapes() {
        #expect(json(.success(result: #"{"a": 1}"#)) == #"{"result":"{\"a\": 1}","status":"SUCCESS"}"#)
        #expect(
            json(.success(resultURL: URL(filePath: "/r/t.pkl")))
                == #"{"result_url":"file:///r/t.pkl","status":"SUCCESS"}"#)
        #expect(json(.failure(traceback: "Traceback...")) == #"{"status":"FAILURE","traceback":"Traceback..."}"#)
    }

    @Test("a response decodes back to itself")
    func roundTrip() throws {
        let response = TaskResponse.failure(traceback: "boom")
        #expect(try JSONDecoder().decode(TaskResponse.self, from: response.jsonData()) == response)
    }
}
