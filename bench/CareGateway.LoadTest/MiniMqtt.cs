using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CareGateway.LoadTest;

/// <summary>
/// A minimal MQTT 3.1.1 client over a plain socket, for the load tools only (never the product): connect, subscribe,
/// publish QoS 0/1, PUBACK, keep-alive. MQTTnet costs tens of kilobytes and several tasks per client; this costs one
/// socket, a small read buffer and one reader task, so one process can hold 10,000 simulated gateways. Nagle is off.
/// </summary>
internal sealed class MiniMqtt : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly BufferedStream _reader;
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly ConcurrentDictionary<ushort, TaskCompletionSource> _pending = new();
    private readonly TaskCompletionSource _connack = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private Task _readLoop = Task.CompletedTask;
    private int _nextId;

    private MiniMqtt(Socket socket, int readBuffer)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new BufferedStream(_stream, readBuffer);
    }

    /// <summary>Called on the reader task for each PUBLISH received; its PUBACK is sent after it returns.</summary>
    public Func<string, ReadOnlyMemory<byte>, ValueTask>? OnMessage { get; set; }

    public long PubAcksReceived => Interlocked.Read(ref _pubAcks);

    public bool Closed { get; private set; }

    private long _pubAcks;

    public static async Task<MiniMqtt> ConnectAsync(int port, string clientId, CancellationToken ct, bool cleanSession = true, ushort keepAliveSeconds = 60, int readBuffer = 4096, Func<string, ReadOnlyMemory<byte>, ValueTask>? onMessage = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var client = new MiniMqtt(socket, readBuffer) { OnMessage = onMessage };
        client._readLoop = Task.Run(() => client.ReadLoopAsync(client._stop.Token), CancellationToken.None);
        var id = Encoding.UTF8.GetBytes(clientId);
        var body = new byte[10 + 2 + id.Length];
        body[0] = 0; body[1] = 4; "MQTT"u8.CopyTo(body.AsSpan(2)); body[6] = 4; // protocol level 4 = 3.1.1
        body[7] = cleanSession ? (byte)0x02 : (byte)0x00;
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(8), keepAliveSeconds);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(10), (ushort)id.Length);
        id.CopyTo(body.AsSpan(12));
        await client.SendAsync(0x10, body, ct);
        await client._connack.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        return client;
    }

    public async Task SubscribeAsync(string filter, CancellationToken ct)
    {
        var f = Encoding.UTF8.GetBytes(filter);
        var id = NextId();
        var body = new byte[2 + 2 + f.Length + 1];
        BinaryPrimitives.WriteUInt16BigEndian(body, id);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(2), (ushort)f.Length);
        f.CopyTo(body.AsSpan(4));
        body[^1] = 1; // QoS 1
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = done;
        await SendAsync(0x82, body, ct);
        await done.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
    }

    /// <summary>Publishes; with <paramref name="waitForAck"/> the task ends at the broker's PUBACK (QoS 1).</summary>
    public async Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, int qos, CancellationToken ct, bool waitForAck = false)
    {
        var t = Encoding.UTF8.GetBytes(topic);
        var body = new byte[2 + t.Length + (qos > 0 ? 2 : 0) + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(body, (ushort)t.Length);
        t.CopyTo(body.AsSpan(2));
        var at = 2 + t.Length;
        TaskCompletionSource? done = null;
        if (qos > 0)
        {
            var id = NextId();
            BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(at), id);
            at += 2;
            if (waitForAck)
            {
                done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending[id] = done;
            }
        }

        payload.Span.CopyTo(body.AsSpan(at));
        await SendAsync((byte)(0x30 | (qos << 1)), body, ct);
        if (done is not null)
        {
            await done.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        }
    }

    public Task PingAsync(CancellationToken ct) => SendAsync(0xC0, [], ct);

    public async ValueTask DisposeAsync()
    {
        if (!Closed)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await SendAsync(0xE0, [], cts.Token);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }

        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _readLoop;
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        await _stream.DisposeAsync();
        await _reader.DisposeAsync();
        _write.Dispose();
        _stop.Dispose();
    }

    private ushort NextId() => (ushort)((Interlocked.Increment(ref _nextId) % 65535) + 1);

    private async Task SendAsync(byte header, byte[] body, CancellationToken ct)
    {
        var packet = new byte[1 + LengthSize(body.Length) + body.Length];
        packet[0] = header;
        var at = WriteLength(packet, 1, body.Length);
        body.CopyTo(packet, at);
        await _write.WaitAsync(ct);
        try
        {
            await _stream.WriteAsync(packet, ct);
        }
        finally
        {
            _write.Release();
        }
    }

    private static int LengthSize(int n) => n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;

    private static int WriteLength(byte[] buffer, int at, int n)
    {
        do
        {
            var b = (byte)(n % 128);
            n /= 128;
            buffer[at++] = n > 0 ? (byte)(b | 0x80) : b;
        }
        while (n > 0);
        return at;
    }

    private async Task ReadLoopAsync(CancellationToken ct)
    {
        var header = new byte[1];
        var one = new byte[1];
        var body = new byte[256];
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await _reader.ReadExactlyAsync(header, ct);
                int length = 0, shift = 0;
                do
                {
                    await _reader.ReadExactlyAsync(one, ct);
                    length |= (one[0] & 0x7F) << shift;
                    shift += 7;
                }
                while ((one[0] & 0x80) != 0 && shift < 28);

                if (body.Length < length)
                {
                    body = new byte[Math.Max(length, body.Length * 2)];
                }

                await _reader.ReadExactlyAsync(body.AsMemory(0, length), ct);
                await HandleAsync(header[0], body.AsMemory(0, length), ct);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or EndOfStreamException)
        {
        }
        finally
        {
            Closed = true;
            _connack.TrySetException(new IOException("connection closed before CONNACK"));
        }
    }

    private async Task HandleAsync(byte header, ReadOnlyMemory<byte> body, CancellationToken ct)
    {
        switch (header >> 4)
        {
            case 2: // CONNACK
                if (body.Span[1] == 0)
                {
                    _connack.TrySetResult();
                }
                else
                {
                    _connack.TrySetException(new IOException($"broker refused the connection: return code {body.Span[1]}"));
                }

                break;
            case 3: // PUBLISH
                var qos = (header >> 1) & 3;
                var topicLength = BinaryPrimitives.ReadUInt16BigEndian(body.Span);
                var topic = Encoding.UTF8.GetString(body.Span.Slice(2, topicLength));
                var at = 2 + topicLength;
                ushort id = 0;
                if (qos > 0)
                {
                    id = BinaryPrimitives.ReadUInt16BigEndian(body.Span[at..]);
                    at += 2;
                }

                if (OnMessage is { } handler)
                {
                    await handler(topic, body[at..]);
                }

                if (qos > 0)
                {
                    var ack = new byte[2];
                    BinaryPrimitives.WriteUInt16BigEndian(ack, id);
                    await SendAsync(0x40, ack, ct);
                }

                break;
            case 4: // PUBACK
            case 9: // SUBACK
                Interlocked.Increment(ref _pubAcks);
                if (_pending.TryRemove(BinaryPrimitives.ReadUInt16BigEndian(body.Span), out var done))
                {
                    done.TrySetResult();
                }

                break;
            default: // PINGRESP and the rest
                break;
        }
    }
}
