import Testing
import URLRedaction

@Suite("URL passwords in text")
struct URLPasswordsTests {
    @Test("every URL's password is shown as ***; user names, hosts, paths and queries stay")
    func hidesPasswords() {
        let cases = [
            "https://user:token@index.example/simple": "https://user:***@index.example/simple",
            "redis://:secret@127.0.0.1:6379/0?queue=q": "redis://:***@127.0.0.1:6379/0?queue=q",
            "BUNDLE_URL=https://u:p@h/b.bundle?sig=1": "BUNDLE_URL=https://u:***@h/b.bundle?sig=1",
            "$ uv pip install --index-url https://u:t@i/simple --extra-index-url https://v:w@j/":
                "$ uv pip install --index-url https://u:***@i/simple --extra-index-url https://v:***@j/",
            "https://a:b@one,https://c:d@two/x": "https://a:***@one,https://c:***@two/x",
            "redis://:p@ss?w:rd@host/0": "redis://:***@host/0",
            "rediss://user@host/0 and http://host/p?who=a@b": "rediss://user@host/0 and http://host/p?who=a@b",
            "not a url: user:pass@host": "not a url: user:pass@host",
            "bundle ./model.bundle: corrupt": "bundle ./model.bundle: corrupt",
        ]
        for (text, shown) in cases {
            #expect(URLPasswords.hidden(in: text) == shown, "\(text)")
        }
    }
}
