/**
 * Output files a user keeps ({@code .qbz}, charts, data splits): written to a temporary file beside the target
 * and renamed over it, so bad input or a crash never leaves a partial file, with the permissions the user's
 * umask gives an ordinary file.
 */
package io.qbridge.files;
