/**
 * Documents made from results, shared by the CLI and the job server so that a local command and a remote
 * job print the same bytes: the bench report (text, JSON and its PNG chart), the eval table as JSON, the
 * device, timing and energy objects of {@code qbridge run --json}, and the {@code qbridge estimate} table and JSON. It sits above {@code runtime},
 * {@code device} and {@code pipeline}, and below {@code cli} and {@code server}.
 */
package io.qbridge.report;
