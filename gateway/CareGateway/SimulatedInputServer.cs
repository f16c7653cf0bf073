using System.Device.Gpio;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CareGateway.Hardware;
using CareGateway.Sensors;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary>
/// The running gateway's side of <c>care-gateway simulate</c>, only on a simulated board: a Unix socket in the data
/// directory (<see cref="SocketPath"/>, owner and group only) that takes one request line,
/// <c>{"sensor":"panic-bed","active":true}</c>, drives that wired sensor's line on the <see cref="SimulatedBoard"/> to the
/// level its wiring means, and answers one line, <c>{"ok":true,...}</c> or <c>{"ok":false,"error":...,"hint":...}</c>.
/// The level goes through the same GPIO input, debounce and rules as a real contact would.
/// </summary>
public sealed class SimulatedInputServer : IAsyncDisposable
{
    /// <summary>The socket's file name in the data directory.</summary>
    public const string FileName = "simulate.sock";

    private const int MaxRequestBytes = 1024;
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _listener;
    private readonly string _path;
    private readonly SimulatedBoard? _board;
    private readonly IReadOnlyList<SensorDefinition> _sensors;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private SimulatedInputServer(Socket listener, string path, SimulatedBoard? board, IReadOnlyList<SensorDefinition> sensors, ILogger log)
    {
        _listener = listener;
        _path = path;
        _board = board;
        _sensors = sensors;
        _log = log;
        _accepting = AcceptAsync(_stop.Token);
    }

    /// <summary>Where the socket of a gateway with this data directory is.</summary>
    public static string SocketPath(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), FileName);

    /// <summary>Listens at <paramref name="path"/> (a stale socket file is replaced); null, with a warning logged, when the socket cannot be made.</summary>
    /// <param name="board">The simulated board; null when nothing is wired to GPIO (then every request is answered with why not).</param>
    public static SimulatedInputServer? Start(string path, SimulatedBoard? board, IReadOnlyList<SensorDefinition> sensors, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(sensors);
        ArgumentNullException.ThrowIfNull(log);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.Delete(path); // a socket left by a gateway that did not stop cleanly
            listener.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
            }

            listener.Listen(4);
        }
        catch (Exception ex) when (ex is SocketException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            listener.Dispose();
            log.LogWarning("The simulated board takes no 'care-gateway simulate' commands: cannot listen at {Path} ({Reason})", path, ex.Message);
            return null;
        }

        log.LogInformation("Simulated board: 'care-gateway simulate press|release|open|close|trip|clear SENSOR' drives its sensors (socket {Path})", path);
        return new SimulatedInputServer(listener, path, board, sensors, log);
    }

    /// <summary>Acts on one request line and says how it went (the reply line, without its newline).</summary>
    public string Handle(string request)
    {
        string? id;
        bool active;
        try
        {
            var node = JsonNode.Parse(request);
            id = (string?)node?["sensor"];
            active = (bool?)node?["active"] ?? throw new FormatException("no 'active'");
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return Error("The gateway did not understand the request.", "Use 'care-gateway simulate ACTION SENSOR' of the same version as the running gateway.");
        }

        var sensor = _sensors.FirstOrDefault(s => s.Id == id);
        if (sensor is null)
        {
            return Error($"The running gateway has no sensor '{id}'.", $"Its sensors: {string.Join(", ", _sensors.Select(s => s.Id))}. A sensor added a moment ago is there once the gateway has reloaded its configuration.");
        }

        if (sensor.Gpio is not { } gpio || SensorConfigValidation.ResolveLine(gpio.Line, gpio.HeaderPin) is not { } line)
        {
            return Error($"'{sensor.Id}' is not wired to the board, so the simulated board cannot trigger it.", "Only wired sensors (sensors add --pin) can be simulated.");
        }

        if (_board is null)
        {
            return Error("The running gateway has no simulated board open.", "Restart the gateway on a configuration with board.driver 'simulated'.");
        }

        var level = active == (gpio.EffectiveActiveLevel() == ActiveLevel.High) ? PinValue.High : PinValue.Low;
        var changed = _board.Level(line) != level;
        _board.SetInput(line, level);
        _log.LogInformation("Simulated: {Sensor} {State} (GPIO {Line} {Level})", sensor.Id, active ? "active" : "at rest", line, level == PinValue.High ? "high" : "low");
        return new JsonObject
        {
            ["ok"] = true,
            ["sensor"] = sensor.Id,
            ["active"] = active,
            ["line"] = line,
            ["level"] = level == PinValue.High ? "high" : "low",
            ["changed"] = changed,
        }.ToJsonString();
    }

    private static string Error(string message, string hint) => new JsonObject { ["ok"] = false, ["error"] = message, ["hint"] = hint }.ToJsonString();

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                _log.LogWarning("simulate: accepting a connection failed ({Reason})", ex.Message);
                continue;
            }

            _ = ServeAsync(client, cancellationToken);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken cancellationToken)
    {
        using (client)
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(ClientTimeout);
            try
            {
                await using var stream = new NetworkStream(client, ownsSocket: false);
                var request = await ReadLineAsync(stream, timeout.Token);
                var reply = request is null ? Error("The request was empty or too long.", "Use 'care-gateway simulate ACTION SENSOR'.") : Handle(request);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(reply + "\n"), timeout.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
                _log.LogDebug("simulate: a client went away ({Reason})", ex.Message);
            }
        }
    }

    /// <summary>Reads up to the first newline (or the end); null when nothing came or more than <see cref="MaxRequestBytes"/>.</summary>
    internal static async Task<string?> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestBytes + 1];
        var count = 0;
        while (count < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(count), cancellationToken);
            if (read == 0)
            {
                break;
            }

            var newline = Array.IndexOf(buffer, (byte)'\n', count, read);
            count += read;
            if (newline >= 0)
            {
                return Encoding.UTF8.GetString(buffer, 0, newline);
            }
        }

        return count == 0 || count > MaxRequestBytes ? null : Encoding.UTF8.GetString(buffer, 0, count);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        _stop.Dispose();
        try
        {
            File.Delete(_path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.LogDebug("simulate: cannot remove {Path} ({Reason})", _path, ex.Message);
        }
    }
}
