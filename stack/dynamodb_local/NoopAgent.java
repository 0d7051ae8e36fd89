// LocalStack starts DynamoDB Local with `-javaagent:<ddb-local-loader.jar>`, a patch it downloads from GitHub
// (it lifts DynamoDB Local's limit of 20 global secondary indexes). Offline we cannot download it, and we do not
// need that patch, so the set-up compiles this agent that does nothing and puts it where LocalStack looks.
public final class NoopAgent {
    public static void premain(String args) {
    }
}
