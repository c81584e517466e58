/*
 * DTLS key log for GStreamer's dtls plugin, which has no key-log option of its own.
 *
 * Loaded with LD_PRELOAD (see the Dockerfile), this wraps OpenSSL's public
 * SSL_CTX_new(): every context the process creates gets OpenSSL's public key-log
 * callback (SSL_CTX_set_keylog_callback), which appends each NSS key-log line to the
 * file named by $SSLKEYLOGFILE. Nothing else changes: the real SSL_CTX_new does all
 * the work. This is the technique Wireshark's TLS documentation describes for OpenSSL
 * programs without key-log support.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/ssl.h>

static void
append_key_log_line (const SSL * ssl, const char *line)
{
  const char *path = getenv ("SSLKEYLOGFILE");
  FILE *file;

  (void) ssl;
  if (path == NULL || (file = fopen (path, "a")) == NULL)
    return;
  fprintf (file, "%s\n", line);
  fclose (file);
}

SSL_CTX *
SSL_CTX_new (const SSL_METHOD * method)
{
  static SSL_CTX *(*real_ssl_ctx_new) (const SSL_METHOD *);
  SSL_CTX *context;

  if (real_ssl_ctx_new == NULL)
    real_ssl_ctx_new = (SSL_CTX * (*)(const SSL_METHOD *)) dlsym (RTLD_NEXT, "SSL_CTX_new");
  if (real_ssl_ctx_new == NULL)
    return NULL;
  context = real_ssl_ctx_new (method);
  if (context != NULL && getenv ("SSLKEYLOGFILE") != NULL)
    SSL_CTX_set_keylog_callback (context, append_key_log_line);
  return context;
}
