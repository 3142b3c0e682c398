// A warm javac: the same compiler entry point as the javac command (javax.tools.JavaCompiler.run with the
// command's arguments), called once per request inside one JVM, so that each compilation skips the JVM start
// and javac's warm-up. Runs in a sandbox of its own (see javac_server.py); reads requests on stdin, answers on
// stdout, big-endian lengths, after a first int READY:
//   request:  int nargs, nargs x (int n, n bytes UTF-8 argument), int n, n bytes file name, int n, n bytes source
//   response: int exit code, int n, n bytes diagnostics, int nfiles, nfiles x (int n, path, int n, bytes)
// The source is written to a fresh directory; "{dir}" in an argument stands for it (the -d output directory),
// and the file's absolute path is the last argument. Everything the compiler wrote there comes back, then the
// directory is removed.
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import javax.tools.*;

public class JavacServer {
    static final int READY = 0x6a617663;  // "javc": the compiler is loaded

    public static void main(String[] args) throws IOException {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in));
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out)));
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        Path base = Paths.get(System.getProperty("user.dir"));
        out.writeInt(READY);
        out.flush();
        for (long n = 0; ; n++) {
            int nargs;
            try {
                nargs = in.readInt();
            } catch (EOFException e) {
                return;
            }
            Path dir = Files.createDirectory(base.resolve("j" + n));
            List<String> argv = new ArrayList<>();
            for (int i = 0; i < nargs; i++) argv.add(text(in).replace("{dir}", dir.toString()));
            String name = text(in);
            Path source = dir.resolve(name);
            Files.write(source, bytes(in));
            argv.add(source.toString());
            compile(compiler, argv, dir, source, out);
            delete(dir.toFile());
        }
    }

    static void compile(JavaCompiler compiler, List<String> argv, Path dir, Path source, DataOutputStream out)
            throws IOException {
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int code;
        boolean fatal = false;
        try {
            code = compiler.run(null, diagnostics, diagnostics, argv.toArray(new String[0]));
        } catch (Throwable t) {  // javac's own abnormal-termination status
            code = 4;
            fatal = t instanceof VirtualMachineError;
            diagnostics.write(t.toString().getBytes(StandardCharsets.UTF_8));
        }
        List<Path> made = new ArrayList<>();
        try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
            walk.filter(Files::isRegularFile).filter(p -> !p.equals(source)).forEach(made::add);
        }
        out.writeInt(code);
        blob(out, diagnostics.toByteArray());
        out.writeInt(made.size());
        for (Path p : made) {
            blob(out, dir.relativize(p).toString().getBytes(StandardCharsets.UTF_8));
            blob(out, Files.readAllBytes(p));
        }
        out.flush();
        if (fatal) System.exit(3);  // out of memory or worse: let the pool start a fresh server
    }

    static byte[] bytes(DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return b;
    }

    static String text(DataInputStream in) throws IOException {
        return new String(bytes(in), StandardCharsets.UTF_8);
    }

    static void blob(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    static void delete(File f) {
        File[] children = f.listFiles();
        if (children != null) for (File c : children) delete(c);
        f.delete();
    }
}
