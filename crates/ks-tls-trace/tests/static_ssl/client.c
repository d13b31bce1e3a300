/* An HTTPS client with the TLS library linked in statically (as Envoy links
 * BoringSSL): the tracer must find SSL_read/SSL_write by symbol in the
 * executable itself. Built by tests/openssl.rs against Debian's libssl.a:
 *
 *   cc client.c -o ks_static_tls -Wl,-Bstatic -lssl -lcrypto -Wl,-Bdynamic -ldl -lpthread
 *
 *   ks_static_tls PORT PATH [DELAY_MS]   (GET https://127.0.0.1:PORT/PATH, body to stdout)
 *
 * DELAY_MS: wait before connecting, as a long-running program would be
 * there when the tracer scans (a rescan every 500 ms finds new executables).
 */
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4)
		return 64;
	if (argc == 4)
		usleep((useconds_t)atoi(argv[3]) * 1000);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(0x7f000001);
	if (!ctx || fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a))
		return 2;
	SSL *s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	if (SSL_connect(s) != 1)
		return 3;
	char req[512];
	int len = snprintf(req, sizeof req,
			   "GET /%s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", argv[2]);
	if (SSL_write(s, req, len) != len)
		return 4;
	char buf[16384];
	int n;
	while ((n = SSL_read(s, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	SSL_shutdown(s);
	SSL_free(s);
	close(fd);
	SSL_CTX_free(ctx);
	return 0;
}
