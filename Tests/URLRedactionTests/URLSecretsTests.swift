import Testing
import URLRedaction

@Suite("URL secrets in text")
struct URLSecretsTests {
    @Test("every URL's password is shown as ***; user names, hosts, paths and queries stay")
    func hidesPasswords() {
        let cases = [
            "https://user:token@index.example/simple": "https://user:***@index.example/simple",
            "redis://:secret@127.0.0.1:6379/0?queue=q": "redis://:***@127.0.0.1:6379/0?queue=q",
            "BUNDLE_URL=https://u:p@h/b.bundle?sig=1": "BUNDLE_URL=https://u:***@h/b.bundle?sig=***",
            "$ uv pip install --index-url https://u:t@i/simple --extra-index-url https://v:w@j/":
                "$ uv pip install --index-url https://u:***@i/simple --extra-index-url https://v:***@j/",
            "https://a:b@one,https://c:d@two/x": "https://a:***@one,https://c:***@two/x",
            "redis://:p@ss?w:rd@host/0": "redis://:***@host/0",
            "rediss://user@host/0 and http://host/p?who=a@b": "rediss://user@host/0 and http://host/p?who=a@b",
            "redis://user@h/0": "redis://user@h/0",
            "rediss://h/0?queue=q&ssl_password=pass%20phrase": "rediss://h/0?queue=q&ssl_password=***",
            "not a url: user:pass@host": "not a url: user:pass@host",
            "bundle ./model.bundle: corrupt": "bundle ./model.bundle: corrupt",
        ]
        for (text, shown) in cases {
            #expect(URLSecrets.hidden(in: text) == shown, "\(text)")
        }
    }

    @Test("a presigned URL's signature and token are shown as ***; its other parameters stay")
    func hidesSignatures() {
        let s3 =
            "https://b.s3.amazonaws.com/in.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261207T000000Z"
            + "&X-Amz-Expires=3600&X-Amz-Security-Token=IQoJb3%2Bx&X-Amz-SignedHeaders=host&X-Amz-Signature=9f2c"
        let cases = [
            s3:
                "https://b.s3.amazonaws.com/in.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261207T000000Z"
                + "&X-Amz-Expires=3600&X-Amz-Security-Token=***&X-Amz-SignedHeaders=host&X-Amz-Signature=***",
            "the request's input https://a.blob.core.windows.net/c/x?sv=2022&sig=ab%2Fc%3D does not exist":
                "the request's input https://a.blob.core.windows.net/c/x?sv=2022&sig=*** does not exist",
            #"{"url": "https://g.example/o?X-Goog-Signature=beef"}"#:
                #"{"url": "https://g.example/o?X-Goog-Signature=***"}"#,
            "(https://h/x?token=t1#frag) and https://h/y?KEY=k2&page=2":
                "(https://h/x?token=***#frag) and https://h/y?KEY=***&page=2",
            "https://h/x?sig=&signature": "https://h/x?sig=&signature",
            "https://h/x?design=1&keys=2&q=key=3": "https://h/x?design=1&keys=2&q=key=3",
            "what? sig=1 is prose": "what? sig=1 is prose",
        ]
        for (text, shown) in cases {
            #expect(URLSecrets.hidden(in: text) == shown, "\(text)")
        }
    }
}
